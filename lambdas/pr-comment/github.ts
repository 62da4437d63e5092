/**
 * The GitHub side of the PR comment: the token from Secrets Manager, the pull requests of a commit, and the
 * upsert of the one comment that starts with the model's marker. Every GitHub failure becomes a
 * {@link GitHubError} whose message says what was being done, what GitHub answered and what to do.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Octokit } from '@octokit/rest';
import { appJwt, privateKeyFromSecret, tokenStillFresh, type GitHubAuth } from '../core/gates/github-auth';
import { logger } from '../shared/logger';

/** A request to GitHub that takes longer than this fails instead of eating the Lambda's time. */
export const GITHUB_TIMEOUT_MS = 10_000;

/** The repository the model's pull requests are opened against (`repository` in the model config). */
export interface RepositoryRef {
  readonly owner: string;
  readonly name: string;
  /** Base branch of the pull requests to comment on. */
  readonly branch: string;
}

/** A pull request to comment on. */
export interface PullRequestRef {
  readonly number: number;
  readonly url: string;
}

/** What the upsert did to one pull request. */
export interface PostedComment {
  readonly pullRequest: number;
  readonly action: 'created' | 'updated' | 'unchanged';
  readonly commentId: number;
  readonly url: string;
}

/** A GitHub call that failed; `retryable` when GitHub or the network, not the request, was at fault. */
export class GitHubError extends Error {
  override readonly name = 'GitHubError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Octokit against `baseUrl` (GitHub Enterprise or a test double), each request cut off after `timeoutMs`. */
export function createGitHubClient(
  token: string,
  baseUrl = process.env.GITHUB_API_URL || 'https://api.github.com',
  timeoutMs = GITHUB_TIMEOUT_MS,
): Octokit {
  const timedFetch: typeof fetch = async (url, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      return await fetch(url, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
      });
    } catch (err) {
      if (timeout.aborted) throw new Error(`no answer within ${timeoutMs / 1000} s`, { cause: err });
      throw err;
    }
  };
  return new Octokit({
    auth: token,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    userAgent: 'mlops-release-platform',
    request: { fetch: timedFetch },
    log: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.debug(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
  });
}

/**
 * The GitHub token for a run, per `auth`:
 * - `token`: the secret's token, read once per container;
 * - `app`: an installation token minted with the app's JWT (key read once per container), limited to the
 *   model's repository, cached until INSTALLATION_TOKEN_MARGIN_MS (core/github-auth) before it expires.
 * `forget` drops everything, so a token or key rotated after a 401 is read again on the next run.
 */
export function createCredentials(
  secrets: SecretsManagerClient,
  options: { now?: () => number; client?: (token: string) => Octokit } = {},
) {
  const now = options.now ?? Date.now;
  const client = options.client ?? ((token: string) => createGitHubClient(token));
  const secretsRead = new Map<string, Promise<string>>();
  const minted = new Map<string, { token: string; expiresAt: string }>();

  const readSecret = (name: string, what: 'token' | 'app key'): Promise<string> => {
    let value = secretsRead.get(name);
    if (!value) {
      value = what === 'token' ? readToken(secrets, name) : readPrivateKey(secrets, name);
      value.catch(() => secretsRead.delete(name));
      secretsRead.set(name, value);
    }
    return value;
  };

  async function mint(auth: Extract<GitHubAuth, { kind: 'app' }>, repo: RepositoryRef): Promise<string> {
    const key = `${auth.appId}/${auth.installationId}/${repo.owner}/${repo.name}`;
    const cached = minted.get(key);
    if (cached && tokenStillFresh(cached.expiresAt, now())) return cached.token;
    const jwt = appJwt(auth.appId, await readSecret(auth.privateKeySecretName, 'app key'), now());
    let data: { token?: unknown; expires_at?: unknown };
    try {
      // REST "Create an installation access token for an app"; `repositories` narrows it to this model's repo.
      ({ data } = await client(jwt).request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: auth.installationId,
        repositories: [repo.name],
      }));
    } catch (err) {
      const status = (err as { status?: number }).status;
      throw new GitHubError(
        `GitHub refused an installation token for app ${auth.appId}, installation ${auth.installationId}, ` +
          `repository ${repo.owner}/${repo.name} (HTTP ${status ?? 'none'}: ${(err as Error).message}); check ` +
          'github.auth.appId and installationId in config/platform.yaml, that the key in secret ' +
          `${auth.privateKeySecretName} is the app's current private key, and that the installation includes ` +
          'the repository',
        status,
        status === undefined || status >= 500,
      );
    }
    if (typeof data.token !== 'string' || typeof data.expires_at !== 'string') {
      throw new GitHubError(
        'GitHub answered the installation token request without token/expires_at',
        200,
        true,
      );
    }
    minted.set(key, { token: data.token, expiresAt: data.expires_at });
    return data.token;
  }

  return {
    get(auth: GitHubAuth, repo: RepositoryRef): Promise<string> {
      return auth.kind === 'token' ? readSecret(auth.tokenSecretName, 'token') : mint(auth, repo);
    },
    forget(): void {
      secretsRead.clear();
      minted.clear();
    },
  };
}

async function getSecretText(secrets: SecretsManagerClient, secretName: string, what: string, key: string) {
  try {
    return (await secrets.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString;
  } catch (err) {
    const name = (err as Error).name;
    const fix =
      name === 'ResourceNotFoundException'
        ? `create it with the ${what} as its value (${key} in config/platform.yaml names it)`
        : `the function's role needs secretsmanager:GetSecretValue on it (and kms:Decrypt if it uses its own key)`;
    throw new Error(`cannot read the ${what} from secret ${secretName} (${name}); ${fix}`, {
      cause: err,
    });
  }
}

async function readToken(secrets: SecretsManagerClient, secretName: string): Promise<string> {
  const text = await getSecretText(
    secrets,
    secretName,
    'GitHub token',
    'github.auth.tokenSecretName (or the older github.tokenSecretName)',
  );
  const token = tokenFromSecret(text);
  if (!token) {
    throw new Error(
      `secret ${secretName} holds no GitHub token; store the token itself or {"token": "<token>"} as its value`,
    );
  }
  return token;
}

async function readPrivateKey(secrets: SecretsManagerClient, secretName: string): Promise<string> {
  const text = await getSecretText(
    secrets,
    secretName,
    'GitHub App private key',
    'github.auth.privateKeySecretName',
  );
  const pem = privateKeyFromSecret(text);
  if (!pem) {
    throw new Error(
      `secret ${secretName} holds no GitHub App private key; store the app's .pem file or ` +
        '{"privateKey": "<pem>"} as its value',
    );
  }
  return pem;
}

/** The token in a secret's text: the whole text, or its `token` field when it is a JSON object. */
export function tokenFromSecret(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  if (!trimmed) return undefined;
  if (trimmed.startsWith('{')) {
    try {
      const token = (JSON.parse(trimmed) as { token?: unknown }).token;
      return typeof token === 'string' && token.trim() ? token.trim() : undefined;
    } catch {
      return undefined;
    }
  }
  return trimmed;
}

/** Turns what Octokit threw into a message for the person who has to fix it. */
export function describeGitHubError(
  err: unknown,
  doing: string,
  repo: RepositoryRef,
  secretName: string,
): GitHubError {
  const status =
    typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : undefined;
  const said = (err as Error).message ?? String(err);
  const headers =
    (err as { response?: { headers?: Record<string, string | undefined> } }).response?.headers ?? {};
  const where = `${repo.owner}/${repo.name}`;
  const rateLimited =
    status === 429 ||
    (status === 403 && (headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(said)));
  if (rateLimited) {
    return new GitHubError(
      `GitHub rate-limited the token in secret ${secretName} while ${doing} (HTTP ${status}: ${said}); ` +
        'retry the action later',
      status,
      true,
    );
  }
  if (status === 401 || status === 403) {
    return new GitHubError(
      `GitHub refused the token in secret ${secretName} while ${doing} (HTTP ${status}: ${said}): the token is ` +
        `invalid or expired, or lacks pull-request/issues write scope on ${where}. Store a valid token with ` +
        'that scope in the secret (classic token: repo; fine-grained: Pull requests and Issues read/write) ' +
        'and retry; the function reads the secret again after this failure',
      status,
      false,
    );
  }
  if (status === 404) {
    return new GitHubError(
      `GitHub answered 404 while ${doing}: ${where} does not exist or the token in secret ${secretName} cannot ` +
        'see it; check repository.owner and repository.name in the model config and the repositories the ' +
        'token may access',
      status,
      false,
    );
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new GitHubError(
      `GitHub rejected the request while ${doing} (HTTP ${status}: ${said})`,
      status,
      false,
    );
  }
  const what =
    status === undefined || (status === 500 && !(err as { response?: unknown }).response)
      ? `network error: ${said}`
      : `HTTP ${status}: ${said}`;
  return new GitHubError(
    `GitHub did not answer properly while ${doing} (${what}); this is on GitHub's or the network's side: ` +
      'retry the action',
    status,
    true,
  );
}

/** The open pull requests into `repo.branch` that contain `commitSha`. */
export async function findOpenPullRequests(
  octokit: Octokit,
  repo: RepositoryRef,
  commitSha: string,
): Promise<PullRequestRef[]> {
  const prs = await octokit.paginate(octokit.rest.repos.listPullRequestsAssociatedWithCommit, {
    owner: repo.owner,
    repo: repo.name,
    commit_sha: commitSha,
    per_page: 100,
  });
  return prs
    .filter((pr) => pr.state === 'open' && pr.base.ref === repo.branch)
    .map((pr) => ({ number: pr.number, url: pr.html_url }));
}

/**
 * The pull requests merged into `repo.branch` that `commitSha` belongs to (the merge, squash or rebase
 * commit a release pipeline runs on). Usually one; none when the commit was pushed without a pull request.
 */
export async function findMergedPullRequests(
  octokit: Octokit,
  repo: RepositoryRef,
  commitSha: string,
): Promise<PullRequestRef[]> {
  const prs = await octokit.paginate(octokit.rest.repos.listPullRequestsAssociatedWithCommit, {
    owner: repo.owner,
    repo: repo.name,
    commit_sha: commitSha,
    per_page: 100,
  });
  return prs
    .filter((pr) => pr.merged_at != null && pr.base.ref === repo.branch)
    .map((pr) => ({ number: pr.number, url: pr.html_url }));
}

/**
 * Updates the pull request's comment that starts with `marker` (the oldest, if there are several), or
 * creates one. Comments that do not start with the marker are never touched.
 */
export async function upsertComment(
  octokit: Octokit,
  repo: RepositoryRef,
  pullRequest: number,
  marker: string,
  body: string,
): Promise<PostedComment> {
  const target = { owner: repo.owner, repo: repo.name };
  const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    ...target,
    issue_number: pullRequest,
    per_page: 100,
  });
  for await (const page of pages) {
    const mine = page.data.find((c) => c.body?.startsWith(marker));
    if (!mine) continue;
    if (mine.body === body) {
      return { pullRequest, action: 'unchanged', commentId: mine.id, url: mine.html_url };
    }
    const { data } = await octokit.rest.issues.updateComment({ ...target, comment_id: mine.id, body });
    return { pullRequest, action: 'updated', commentId: data.id, url: data.html_url };
  }
  const { data } = await octokit.rest.issues.createComment({ ...target, issue_number: pullRequest, body });
  return { pullRequest, action: 'created', commentId: data.id, url: data.html_url };
}
