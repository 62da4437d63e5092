/**
 * The key of the prediction log's input hash, from Secrets Manager, read once per container: every
 * router instance must use the same key, or equal inputs would not hash equal across instances.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MIN_HMAC_KEY_BYTES } from '../core/routing/prediction-record';
import { describeError } from './flag';

export type HmacKeyReader = () => Promise<Uint8Array>;

/**
 * The key is the secret's bytes: `SecretBinary` as is, or `SecretString` as UTF-8 (what a generated
 * secret holds, e.g. 64 random characters). A successful read is kept for the container's life; a
 * failed one is tried again on the next request.
 */
export function secretsManagerHmacKey(secrets: SecretsManagerClient, secretArn: string): HmacKeyReader {
  let key: Promise<Uint8Array> | undefined;
  return () => {
    key ??= read(secrets, secretArn).catch((error: unknown) => {
      key = undefined;
      throw error;
    });
    return key;
  };
}

async function read(secrets: SecretsManagerClient, secretArn: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const res = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    bytes = res.SecretBinary ?? new TextEncoder().encode(res.SecretString ?? '');
  } catch (error) {
    throw new Error(
      `cannot read the HMAC key secret ${secretArn}: ${describeError(error)}; check that it exists and that ` +
        "the router's role may read it (secretsmanager:GetSecretValue, and kms:Decrypt on its key)",
      { cause: error },
    );
  }
  if (bytes.byteLength < MIN_HMAC_KEY_BYTES) {
    throw new Error(
      `the HMAC key secret ${secretArn} holds ${bytes.byteLength} bytes, fewer than the ${MIN_HMAC_KEY_BYTES} the ` +
        `input hash needs; put a random value of at least ${MIN_HMAC_KEY_BYTES} bytes in it (changing the key ` +
        'makes new hashes incomparable with earlier ones)',
    );
  }
  return bytes;
}
