/**
 * The runner's KMS: the template's symmetric keys (AWS::KMS::Key) behind the KMS JSON protocol
 * (`X-Amz-Target: TrentService.<operation>`), for the operations envelope encryption uses: GenerateDataKey,
 * Decrypt and Encrypt. Each key's material is random per run and never leaves this process; a ciphertext
 * blob names its key (as KMS's do), so Decrypt needs no KeyId and the authorizing proxy can tell which key a
 * Decrypt uses (iam/requests.ts). The encryption context is bound to the ciphertext (AES-256-GCM additional
 * data): Decrypt with another context fails with InvalidCiphertextException, as KMS does.
 *
 * Not emulated: key policies and grants (the proxy authorizes the caller's role policies only), asymmetric
 * keys, aliases, key states (disable, deletion), rotation (which does not change what a caller sees).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalIdentity } from '../identity.ts';

export interface LocalKmsKey {
  logicalId: string;
  keyId: string;
  arn: string;
}

/** A key's id, stable across runs of the same template (a UUID from the logical id, as KMS key ids are UUIDs). */
export function localKeyId(logicalId: string): string {
  const hex = createHash('sha256').update(`kms:${logicalId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const localKeyArn = (identity: LocalIdentity, keyId: string) => `arn:aws:kms:${identity.region}:${identity.accountId}:key/${keyId}`;

/** A ciphertext blob: MAGIC, the key ARN's length and bytes, a 12-byte IV, a 16-byte tag, the ciphertext. */
const MAGIC = Buffer.from('PFKMS1');

/** The ARN of the key a (base64) ciphertext blob was made with, or undefined when it is not one of this emulator's. */
export function keyArnOfCiphertext(base64: string): string | undefined {
  const blob = Buffer.from(base64, 'base64');
  if (blob.length < MAGIC.length + 2 || !blob.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const length = blob.readUInt16BE(MAGIC.length);
  return blob.subarray(MAGIC.length + 2, MAGIC.length + 2 + length).toString('utf8');
}

/** The encryption context as additional authenticated data: its pairs sorted by key. */
const contextBytes = (context: unknown) =>
  Buffer.from(JSON.stringify(Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

class KmsError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

export interface LocalKms {
  readonly endpoint: string;
  readonly keys: readonly LocalKmsKey[];
  close(): Promise<void>;
}

export async function startLocalKms(options: { keys: ReadonlyArray<{ logicalId: string }>; identity: LocalIdentity; host?: string }): Promise<LocalKms> {
  const keys = options.keys.map(({ logicalId }) => {
    const keyId = localKeyId(logicalId);
    return { logicalId, keyId, arn: localKeyArn(options.identity, keyId), material: randomBytes(32) };
  });
  const keyNamed = (keyIdOrArn: unknown) => {
    const key = keys.find((candidate) => candidate.keyId === keyIdOrArn || candidate.arn === keyIdOrArn);
    if (!key) throw new KmsError('NotFoundException', `Key '${String(keyIdOrArn)}' does not exist`);
    return key;
  };

  const encrypt = (key: (typeof keys)[number], plaintext: Buffer, context: unknown): string => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv).setAAD(contextBytes(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const arn = Buffer.from(key.arn);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(arn.length);
    return Buffer.concat([MAGIC, length, arn, iv, cipher.getAuthTag(), ciphertext]).toString('base64');
  };

  const decrypt = (blobText: unknown, context: unknown, keyId: unknown) => {
    const invalid = () => new KmsError('InvalidCiphertextException', 'The ciphertext is invalid or was made with another encryption context.');
    const arn = typeof blobText === 'string' ? keyArnOfCiphertext(blobText) : undefined;
    if (!arn) throw invalid();
    const key = keyNamed(arn);
    if (keyId !== undefined && keyNamed(keyId) !== key) throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    const blob = Buffer.from(blobText as string, 'base64');
    const start = MAGIC.length + 2 + Buffer.byteLength(arn);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, blob.subarray(start, start + 12)).setAAD(contextBytes(context));
      decipher.setAuthTag(blob.subarray(start + 12, start + 28));
      return { key, plaintext: Buffer.concat([decipher.update(blob.subarray(start + 28)), decipher.final()]) };
    } catch {
      throw invalid();
    }
  };

  const operations: Record<string, (body: Record<string, any>) => Record<string, unknown>> = {
    GenerateDataKey: (body) => {
      const key = keyNamed(body.KeyId);
      const bytes = body.KeySpec === 'AES_256' ? 32 : body.KeySpec === 'AES_128' ? 16 : Number(body.NumberOfBytes);
      if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) throw new KmsError('ValidationException', 'Either KeySpec or NumberOfBytes (1-1024) is required.');
      const plaintext = randomBytes(bytes);
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), CiphertextBlob: encrypt(key, plaintext, body.EncryptionContext) };
    },
    Encrypt: (body) => {
      const key = keyNamed(body.KeyId);
      const plaintext = Buffer.from(String(body.Plaintext ?? ''), 'base64');
      if (plaintext.length < 1 || plaintext.length > 4096) throw new KmsError('ValidationException', 'Plaintext must be 1 to 4096 bytes.');
      return { KeyId: key.arn, CiphertextBlob: encrypt(key, plaintext, body.EncryptionContext), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    Decrypt: (body) => {
      const { key, plaintext } = decrypt(body.CiphertextBlob, body.EncryptionContext, body.KeyId);
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
  };

  const answer = (response: ServerResponse, status: number, body: Record<string, unknown>, errorType?: string) => {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomBytes(16).toString('hex'),
      ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
    });
    response.end(text);
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const [prefix, operation = ''] = String(request.headers['x-amz-target'] ?? '').split('.');
      try {
        const handle = prefix === 'TrentService' ? operations[operation] : undefined;
        if (!handle) throw new KmsError('UnsupportedOperationException', `The local KMS does not emulate ${operation || 'this request'}.`);
        let body: Record<string, any>;
        try {
          body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
        } catch {
          throw new KmsError('SerializationException', 'The request body is not JSON.');
        }
        answer(response, 200, handle(body));
      } catch (error) {
        const failure = error instanceof KmsError ? error : new KmsError('KMSInternalException', String(error), 500);
        answer(response, failure.status, { __type: failure.code, message: failure.message }, failure.code);
      }
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => done());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    keys: keys.map(({ logicalId, keyId, arn }) => ({ logicalId, keyId, arn })),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
