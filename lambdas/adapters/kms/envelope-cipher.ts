/**
 * Envelope encryption with a KMS key: each secret gets its own data key (GenerateDataKey, AES-256), is encrypted
 * with it here (AES-256-GCM), and is stored as `kms1:<encrypted data key>:<iv>:<tag>:<ciphertext>` (base64 parts).
 * The plaintext data key is dropped once used. Opening asks KMS to Decrypt the data key, once per container and
 * data key (a small cache: a dispatcher container signs for the same endpoints again and again). The context is
 * KMS's encryption context and the GCM additional data, so both the key and the secret are bound to it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { kms } from '#commons/kms';
import { setting } from '#commons/environment';
import type { SecretCipher } from '#ports/secret-cipher';

const FORMAT = 'kms1';
/** Data keys kept decrypted per container: far more than the endpoints one container signs for. */
const MAX_CACHED_KEYS = 500;

const contextText = (context: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1)));

export class KmsEnvelopeCipher implements SecretCipher {
  private readonly dataKeys = new Map<string, Buffer>();

  constructor(
    private readonly keyArn: string,
    private readonly givenClient?: KMSClient,
  ) {}

  private get client(): KMSClient {
    return this.givenClient ?? kms();
  }

  async seal(plaintext: string, context: Readonly<Record<string, string>>): Promise<string> {
    const { Plaintext, CiphertextBlob } = await this.client.send(new GenerateDataKeyCommand({ KeyId: this.keyArn, KeySpec: 'AES_256', EncryptionContext: { ...context } }));
    if (!Plaintext || !CiphertextBlob) throw new Error('KMS GenerateDataKey answered no data key');
    const dataKey = Buffer.from(Plaintext);
    try {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv).setAAD(Buffer.from(contextText(context)));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [FORMAT, Buffer.from(CiphertextBlob), iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64'))).join(':');
    } finally {
      dataKey.fill(0);
      Plaintext.fill(0);
    }
  }

  async open(sealed: string, context: Readonly<Record<string, string>>): Promise<string> {
    const [format, encryptedKey, iv, tag, ciphertext] = sealed.split(':');
    if (format !== FORMAT || !encryptedKey || !iv || !tag || ciphertext === undefined) throw new Error('not a secret sealed by this cipher');
    const decipher = createDecipheriv('aes-256-gcm', await this.dataKey(encryptedKey, context), Buffer.from(iv, 'base64')).setAAD(Buffer.from(contextText(context)));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
  }

  private async dataKey(encryptedKey: string, context: Readonly<Record<string, string>>): Promise<Buffer> {
    // Keyed by the context too: a cached key must not skip the context check KMS would make.
    const cacheKey = `${encryptedKey}|${contextText(context)}`;
    const cached = this.dataKeys.get(cacheKey);
    if (cached) return cached;
    const { Plaintext } = await this.client.send(new DecryptCommand({ CiphertextBlob: Buffer.from(encryptedKey, 'base64'), KeyId: this.keyArn, EncryptionContext: { ...context } }));
    if (!Plaintext) throw new Error('KMS Decrypt answered no data key');
    const dataKey = Buffer.from(Plaintext);
    if (this.dataKeys.size >= MAX_CACHED_KEYS) this.dataKeys.delete(this.dataKeys.keys().next().value!);
    this.dataKeys.set(cacheKey, dataKey);
    return dataKey;
  }
}

/** `clientOnFirstUse`: the function seals or opens secrets only now and then, so the KMS client is made when it first does; otherwise now, at import. */
export function kmsEnvelopeCipherFromSettings({ clientOnFirstUse = false } = {}): KmsEnvelopeCipher {
  if (!clientOnFirstUse) kms();
  return new KmsEnvelopeCipher(setting('webhookSigningKeyArn'));
}
