import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A GitHub REST API double on loopback for the PR comment function: exactly the endpoints it uses, with
 * GitHub's status codes, pagination (Link headers) and ownership rule (only the token's user may edit a
 * comment). Every request is recorded; `failWith` makes it answer with an error instead.
 *
 * Endpoints:
 * - GET   /repos/{owner}/{repo}/commits/{sha}/pulls          pull requests whose head or merge commit is the commit
 * - GET   /repos/{owner}/{repo}/issues/{number}/comments      paginated (per_page ≤ 100, page)
 * - POST  /repos/{owner}/{repo}/issues/{number}/comments      201
 * - PATCH /repos/{owner}/{repo}/issues/comments/{id}          200; 403 for someone else's comment
 * - POST  /app/installations/{id}/access_tokens                201 `{ token, expires_at }` when `app` is set and
 *   the Bearer JWT is RS256-signed by the app's key with `iss` = app id and `exp` ≤ `iat` + 11 min; 401 else.
 *   Each minted token (`<installationTokenPrefix>-<n>`) is then accepted like `token`.
 * Anything else answers 404 and is recorded, so an unexpected call shows up in `requests`.
 */

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The status the double answered with. */
  status: number;
}

export interface PullRequestSeed {
  readonly number: number;
  readonly headSha: string;
  /** @default 'open' */
  readonly state?: 'open' | 'closed';
  /** Branch the pull request targets. @default 'main' */
  readonly base?: string;
  /** When it was merged (it is then `closed`). @default - not merged */
  readonly mergedAt?: string;
  /** The commit its merge made on the base branch; the commit's pull requests include it. */
  readonly mergeCommitSha?: string;
}

export interface StoredComment {
  readonly id: number;
  readonly issueNumber: number;
  body: string;
  readonly user: string;
  readonly htmlUrl: string;
}

export interface InjectedFailure {
  readonly status: number;
  /** GitHub's `message`. @default - the usual text for the status */
  readonly message?: string;
  /** Only requests with this method fail. @default - every method */
  readonly method?: string;
  /** Only requests whose path matches fail. @default - every path */
  readonly path?: RegExp;
  /** How many requests fail before the double answers normally again. @default - until `clearFailures` */
  readonly times?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface GitHubDoubleOptions {
  readonly owner: string;
  readonly repo: string;
  /** The token the double accepts (`Authorization: token …` or `Bearer …`). */
  readonly token: string;
  /** Login of the token's user: the author of comments it creates. @default 'mlops-bot' */
  readonly login?: string;
  /** A GitHub App whose installation tokens the double mints. @default - no app: the endpoint answers 404 */
  readonly app?: {
    readonly appId: number;
    readonly installationId: number;
    /** SPKI PEM of the app's key pair: the JWT signatures are checked with it. */
    readonly publicKeyPem: string;
    readonly installationTokenPrefix: string;
    /** `expires_at` of every minted token. */
    readonly expiresAt: string;
  };
}

/** A JWT the double accepted: its decoded claims. */
export interface AcceptedJwt {
  readonly header: Record<string, unknown>;
  readonly claims: { iat: number; exp: number; iss: string };
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Bad credentials',
  403: 'Resource not accessible by personal access token',
  404: 'Not Found',
  422: 'Validation Failed',
  500: 'Internal Server Error',
  502: 'Server Error',
  503: 'Service Unavailable',
};

/** GitHub's limit on a comment body, in characters. */
const MAX_BODY = 65_536;

export class GitHubDouble {
  readonly requests: RecordedRequest[] = [];
  /** The app JWTs accepted by the access_tokens endpoint, in order. */
  readonly jwts: AcceptedJwt[] = [];
  private minted: string[] = [];
  private pulls: PullRequestSeed[] = [];
  private stored: StoredComment[] = [];
  private failures: { failure: InjectedFailure; left: number }[] = [];
  private nextId = 1001;
  private readonly login: string;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly options: GitHubDoubleOptions,
  ) {
    this.login = options.login ?? 'mlops-bot';
  }

  /** Listens on 127.0.0.1 on a free port. */
  static async start(options: GitHubDoubleOptions): Promise<GitHubDouble> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const double = new GitHubDouble(server, `http://127.0.0.1:${port}`, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      double.handle(req, res).catch((err: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `GitHub double failed: ${err.message}` }));
      });
    });
    return double;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Forgets pull requests, comments, failures and recorded requests. */
  reset(): void {
    this.requests.length = 0;
    this.jwts.length = 0;
    this.minted = [];
    this.pulls = [];
    this.stored = [];
    this.failures = [];
    this.nextId = 1001;
  }

  addPullRequest(seed: PullRequestSeed): void {
    this.pulls.push(seed);
  }

  /** A comment already on the pull request, e.g. by a reviewer. */
  addComment(issueNumber: number, body: string, user = 'octocat'): StoredComment {
    return this.store(issueNumber, body, user);
  }

  /** Comments on a pull request, oldest first. */
  comments(issueNumber: number): StoredComment[] {
    return this.stored.filter((c) => c.issueNumber === issueNumber).map((c) => ({ ...c }));
  }

  /** Requests that changed something (POST, PATCH). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  failWith(failure: InjectedFailure): void {
    this.failures.push({ failure, left: failure.times ?? Number.POSITIVE_INFINITY });
  }

  clearFailures(): void {
    this.failures = [];
  }

  private store(issueNumber: number, body: string, user: string): StoredComment {
    const id = this.nextId++;
    const { owner, repo } = this.options;
    const comment = {
      id,
      issueNumber,
      body,
      user,
      htmlUrl: `https://github.com/${owner}/${repo}/pull/${issueNumber}#issuecomment-${id}`,
    };
    this.stored.push(comment);
    return comment;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      status: 0,
    };
    this.requests.push(recorded);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      recorded.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(payload));
    };
    const error = (
      status: number,
      message = STATUS_TEXT[status] ?? 'Error',
      headers?: Record<string, string>,
    ) =>
      send(
        status,
        { message, documentation_url: 'https://docs.github.com/rest', status: String(status) },
        headers,
      );

    const injected = this.failures.find(
      ({ failure, left }) =>
        left > 0 &&
        (!failure.method || failure.method === recorded.method) &&
        (!failure.path || failure.path.test(recorded.path)),
    );
    if (injected) {
      injected.left--;
      return error(injected.failure.status, injected.failure.message, { ...injected.failure.headers });
    }
    const auth = req.headers.authorization ?? '';
    const app = this.options.app;
    let m0: RegExpMatchArray | null;
    if (
      recorded.method === 'POST' &&
      (m0 = recorded.path.match(/^\/app\/installations\/(\d+)\/access_tokens$/))
    ) {
      if (!app) return error(404);
      const jwt = /^bearer /i.test(auth) ? auth.slice(7) : '';
      const accepted = checkJwt(jwt, app.publicKeyPem, app.appId);
      if (!accepted) return error(401, 'A JSON web token could not be decoded');
      if (Number(m0[1]) !== app.installationId) return error(404);
      this.jwts.push(accepted);
      const token = `${app.installationTokenPrefix}-${this.minted.length + 1}`;
      this.minted.push(token);
      return send(201, {
        token,
        expires_at: app.expiresAt,
        permissions: {},
        repository_selection: 'selected',
      });
    }
    const presented = auth.replace(/^(token|bearer) /i, '');
    if (presented !== this.options.token && !this.minted.includes(presented)) return error(401);

    const { owner, repo } = this.options;
    const prefix = `/repos/${owner}/${repo}`;
    const path = recorded.path;
    if (!path.startsWith(`${prefix}/`)) return error(404);
    const rest = path.slice(prefix.length);
    let m: RegExpMatchArray | null;

    if (recorded.method === 'GET' && (m = rest.match(/^\/commits\/([^/]+)\/pulls$/))) {
      const sha = decodeURIComponent(m[1]);
      return send(
        200,
        this.pulls.filter((p) => p.headSha === sha || p.mergeCommitSha === sha).map((p) => this.pullJson(p)),
      );
    }
    if ((m = rest.match(/^\/issues\/(\d+)\/comments$/))) {
      const issueNumber = Number(m[1]);
      if (!this.pulls.some((p) => p.number === issueNumber)) return error(404);
      if (recorded.method === 'GET') return this.listComments(issueNumber, url, send);
      if (recorded.method === 'POST') {
        const text = (body as { body?: unknown } | undefined)?.body;
        if (typeof text !== 'string' || text.length === 0) return error(422, 'body is missing');
        if (text.length > MAX_BODY) return error(422, 'Body is too long (maximum is 65536 characters)');
        return send(201, this.commentJson(this.store(issueNumber, text, this.login)));
      }
    }
    if (recorded.method === 'PATCH' && (m = rest.match(/^\/issues\/comments\/(\d+)$/))) {
      const comment = this.stored.find((c) => c.id === Number(m![1]));
      if (!comment) return error(404);
      if (comment.user !== this.login) return error(403, 'Must have admin rights to Repository.');
      const text = (body as { body?: unknown } | undefined)?.body;
      if (typeof text !== 'string' || text.length === 0) return error(422, 'body is missing');
      if (text.length > MAX_BODY) return error(422, 'Body is too long (maximum is 65536 characters)');
      comment.body = text;
      return send(200, this.commentJson(comment));
    }
    return error(404);
  }

  private listComments(
    issueNumber: number,
    url: URL,
    send: (status: number, payload: unknown, headers?: Record<string, string>) => void,
  ): void {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30)));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    const all = this.stored.filter((c) => c.issueNumber === issueNumber);
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const link = (p: number, rel: string) => {
      const next = new URL(url.pathname, this.baseUrl);
      next.searchParams.set('per_page', String(perPage));
      next.searchParams.set('page', String(p));
      return `<${next.toString()}>; rel="${rel}"`;
    };
    const links = [
      ...(page < lastPage ? [link(page + 1, 'next'), link(lastPage, 'last')] : []),
      ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
    ];
    send(
      200,
      all.slice((page - 1) * perPage, page * perPage).map((c) => this.commentJson(c)),
      links.length > 0 ? { link: links.join(', ') } : {},
    );
  }

  private pullJson(p: PullRequestSeed) {
    const { owner, repo } = this.options;
    return {
      number: p.number,
      state: p.state ?? (p.mergedAt ? 'closed' : 'open'),
      merged_at: p.mergedAt ?? null,
      merge_commit_sha: p.mergeCommitSha ?? null,
      title: `Pull request ${p.number}`,
      html_url: `https://github.com/${owner}/${repo}/pull/${p.number}`,
      head: { sha: p.headSha, ref: `feature-${p.number}` },
      base: { ref: p.base ?? 'main' },
    };
  }

  private commentJson(c: StoredComment) {
    return {
      id: c.id,
      body: c.body,
      user: { login: c.user, type: 'User' },
      html_url: c.htmlUrl,
      created_at: '2026-11-02T10:00:00Z',
      updated_at: '2026-11-02T10:00:00Z',
    };
  }
}

/** The JWT's header and claims when it is RS256, signed by the key and issued for `appId`; else undefined. */
function checkJwt(jwt: string, publicKeyPem: string, appId: number): AcceptedJwt | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  const [header, claims] = parts.slice(0, 2).map((p) => {
    try {
      return JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  });
  if (!header || !claims || header.alg !== 'RS256') return undefined;
  const signed = verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    publicKeyPem,
    Buffer.from(parts[2], 'base64url'),
  );
  const { iat, exp, iss } = claims;
  if (!signed || typeof iat !== 'number' || typeof exp !== 'number' || iss !== String(appId))
    return undefined;
  if (exp <= iat || exp - iat > 11 * 60) return undefined;
  return { header, claims: { iat, exp, iss } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts a double before the file's tests, resets it before each test, stops it after. */
export function useGitHubDouble(options: GitHubDoubleOptions): () => GitHubDouble {
  let double: GitHubDouble | undefined;
  beforeAll(async () => {
    double = await GitHubDouble.start(options);
  });
  beforeEach(() => double?.reset());
  afterAll(async () => double?.stop());
  return () => {
    if (!double) throw new Error('the GitHub double is not running (call useGitHubDouble at describe level)');
    return double;
  };
}
