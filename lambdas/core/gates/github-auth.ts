/**
 * How the PR-comment function authenticates to GitHub, and the pure parts of GitHub App authentication:
 * the app's JSON Web Token and when a minted installation token must be renewed. No SDK, no clock: the
 * caller passes the time.
 *
 * GitHub docs (docs.github.com, pages "Generating a JSON Web Token (JWT) for a GitHub App" and
 * "Generating an installation access token for a GitHub App"): the JWT is RS256-signed with the app's
 * private key, `iat` 60 s in the past against clock drift, `exp` at most 10 minutes ahead, `iss` the app
 * id; it is sent as `Authorization: Bearer <jwt>` to POST /app/installations/{installation_id}/access_tokens,
 * which answers `{ token, expires_at }` (an hour later). The optional `repositories` body field limits the
 * token to the named repositories of the installation.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { z } from 'zod';

const positiveId = z.number().int().positive();

/** A GitHub App installation (the documented default) or a stored token (kept for existing setups). */
export const githubAuthSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('app'),
      appId: positiveId.meta({ description: "The GitHub App's id (App settings > General > App ID)." }),
      installationId: positiveId.meta({
        description:
          'Id of the installation on the organisation (the number at the end of its settings URL).',
      }),
      privateKeySecretName: z
        .string()
        .min(1)
        .default('mlops/github-app-private-key')
        .meta({
          description:
            "Secrets Manager secret holding the app's private key (the .pem GitHub generated), or " +
            '{"privateKey": "<pem>"}. Default: mlops/github-app-private-key.',
        }),
    })
    .meta({
      description: 'Comment as a GitHub App installation: short-lived tokens, scoped per repository.',
    }),
  z
    .strictObject({
      kind: z.literal('token'),
      tokenSecretName: z.string().min(1).default('mlops/github-token').meta({
        description:
          'Secrets Manager secret holding a GitHub token, raw or {"token": "..."}. Default: mlops/github-token.',
      }),
    })
    .meta({ description: 'Comment with a long-lived token stored in Secrets Manager.' }),
]);

export type GitHubAuth = z.output<typeof githubAuthSchema>;

/** The secret the function reads for `auth`. */
export function authSecretName(auth: GitHubAuth): string {
  return auth.kind === 'app' ? auth.privateKeySecretName : auth.tokenSecretName;
}

/** GitHub rejects a JWT whose `exp` is more than 10 minutes after `iat`'s reference time; stay under it. */
export const APP_JWT_LIFETIME_S = 9 * 60;
/** `iat` this far in the past, as GitHub advises against clock drift. */
export const APP_JWT_BACKDATE_S = 60;
/** A cached installation token is renewed this long before it expires. */
export const INSTALLATION_TOKEN_MARGIN_MS = 5 * 60_000;

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** The app's RS256 JWT at `nowMs` (epoch milliseconds). Throws a readable error for a key that is not RSA PEM. */
export function appJwt(appId: number, privateKeyPem: string, nowMs: number): string {
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (err) {
    throw new Error(
      `the GitHub App private key is not a PEM private key (${(err as Error).message}); store the .pem file ` +
        'GitHub generated for the app (App settings > Private keys) as the secret value',
      { cause: err },
    );
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(
      `the GitHub App private key is ${key.asymmetricKeyType}, not RSA; GitHub signs with RS256`,
    );
  }
  const now = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({ iat: now - APP_JWT_BACKDATE_S, exp: now + APP_JWT_LIFETIME_S, iss: String(appId) }),
  );
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key);
  return `${header}.${payload}.${base64url(signature)}`;
}

/** The private key in a secret's text: the whole text, or its `privateKey` field when it is a JSON object. */
export function privateKeyFromSecret(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  if (!trimmed) return undefined;
  if (trimmed.startsWith('{')) {
    try {
      const pem = (JSON.parse(trimmed) as { privateKey?: unknown }).privateKey;
      return typeof pem === 'string' && pem.trim() ? pem.trim() : undefined;
    } catch {
      return undefined;
    }
  }
  return trimmed;
}

/** Whether a token that expires at `expiresAt` (ISO 8601) is still worth using at `nowMs`. */
export function tokenStillFresh(expiresAt: string, nowMs: number): boolean {
  const expiry = Date.parse(expiresAt);
  return Number.isFinite(expiry) && nowMs < expiry - INSTALLATION_TOKEN_MARGIN_MS;
}
