/**
 * Encrypts a secret for storage and decrypts it back. `context` names what the secret belongs to (a merchant and
 * an endpoint): a sealed secret opens only with the same context, so one copied onto another item is useless.
 */
export interface SecretCipher {
  seal(plaintext: string, context: Readonly<Record<string, string>>): Promise<string>;
  open(sealed: string, context: Readonly<Record<string, string>>): Promise<string>;
}
