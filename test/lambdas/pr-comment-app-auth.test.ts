// GitHub App authentication of the PR comment: the app JWT, the installation token minted from it, its cache
// and its failures, against the GitHub double (which checks the JWT with the public key of a key pair made
// here) and the app key secret in moto through the real SDK; and the `github.auth` config choice.
import { generateKeyPairSync } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, formatProblem } from '../../lib/config/load';
import { resolveGitHubAuth } from '../../lambdas/core/contracts/config-schema';
import { releaseSettings } from '../../lambdas/core/contracts/release-settings';
import { APP_JWT_BACKDATE_S, type GitHubAuth } from '../../lambdas/core/gates/github-auth';
import {
  createCredentials,
  createGitHubClient,
  findOpenPullRequests,
  GitHubError,
  upsertComment,
} from '../../lambdas/pr-comment/github';
import { ConfigFixture } from '../helpers/config-fixture';
import { useGitHubDouble } from '../helpers/github-double';
import { useMoto } from '../helpers/moto';
import { logger } from '../../lambdas/shared/logger';

beforeAll(() => logger.setLogLevel('SILENT'));

const OWNER = 'example-org';
const REPO = 'document-classifier';
const APP_ID = 123456;
const INSTALLATION = 7654321;
const KEY_SECRET = 'mlops/github-app-private-key';
const T0 = Date.parse('2026-11-02T10:00:00Z');
const EXPIRES = '2026-11-02T11:00:00Z';
const repo = { owner: OWNER, name: REPO, branch: 'main' };
const auth: GitHubAuth = {
  kind: 'app',
  appId: APP_ID,
  installationId: INSTALLATION,
  privateKeySecretName: KEY_SECRET,
};

const rsa = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
const appKeys = rsa();

describe('GitHub App installation token', () => {
  const moto = useMoto();
  const github = useGitHubDouble({
    owner: OWNER,
    repo: REPO,
    token: 'ghp_not_used_here',
    app: {
      appId: APP_ID,
      installationId: INSTALLATION,
      publicKeyPem: appKeys.publicKey,
      installationTokenPrefix: 'ghs_installation',
      expiresAt: EXPIRES,
    },
  });
  let secrets: SecretsManagerClient;
  let now: number;
  const credentials = () =>
    createCredentials(secrets, {
      now: () => now,
      client: (token) => createGitHubClient(token, github().baseUrl),
    });
  const mints = () => github().requests.filter((r) => r.path.endsWith('/access_tokens'));

  beforeEach(async () => {
    await moto.reset();
    secrets = new SecretsManagerClient(moto.clientConfig);
    now = T0;
    github().addPullRequest({ number: 42, headSha: 'abc123' });
  });

  const storeKey = (name: string, value: string) =>
    secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));

  test('mints a token with a JWT GitHub accepts, limited to the model repository, and comments with it', async () => {
    await storeKey(KEY_SECRET, appKeys.privateKey);
    const token = await credentials().get(auth, repo);

    expect(token).toBe('ghs_installation-1');
    expect(github().jwts).toHaveLength(1);
    const { claims } = github().jwts[0];
    expect(claims.iss).toBe(String(APP_ID));
    expect(claims.iat).toBe(T0 / 1000 - APP_JWT_BACKDATE_S);
    expect(claims.exp - T0 / 1000).toBeLessThanOrEqual(600);
    expect(claims.exp).toBeGreaterThan(T0 / 1000);
    expect(mints()[0]).toMatchObject({
      path: `/app/installations/${INSTALLATION}/access_tokens`,
      body: { repositories: [REPO] },
      status: 201,
    });

    const octokit = createGitHubClient(token, github().baseUrl);
    const [pr] = await findOpenPullRequests(octokit, repo, 'abc123');
    const posted = await upsertComment(octokit, repo, pr.number, '<!-- m -->', '<!-- m -->\nreport');
    expect(posted.action).toBe('created');
  });

  test('reuses the token until 5 minutes before it expires, then mints a new one', async () => {
    await storeKey(KEY_SECRET, JSON.stringify({ privateKey: appKeys.privateKey }));
    const creds = credentials();
    expect(await creds.get(auth, repo)).toBe('ghs_installation-1');
    now = Date.parse(EXPIRES) - 6 * 60_000;
    expect(await creds.get(auth, repo)).toBe('ghs_installation-1');
    now = Date.parse(EXPIRES) - 4 * 60_000;
    expect(await creds.get(auth, repo)).toBe('ghs_installation-2');
    expect(mints()).toHaveLength(2);
    // A different repository gets its own token, not the one limited to REPO.
    expect(await creds.get(auth, { ...repo, name: 'other-model' })).toBe('ghs_installation-3');
  });

  test('forget() drops the cached token, so the next run mints again', async () => {
    await storeKey(KEY_SECRET, appKeys.privateKey);
    const creds = credentials();
    await creds.get(auth, repo);
    creds.forget();
    expect(await creds.get(auth, repo)).toBe('ghs_installation-2');
  });

  test('a key that is not the app key: GitHub answers 401 and the error names the app, installation and secret', async () => {
    await storeKey(KEY_SECRET, rsa().privateKey);
    const failure = credentials()
      .get(auth, repo)
      .catch((err: unknown) => err);
    const err = (await failure) as GitHubError;
    expect(err).toBeInstanceOf(GitHubError);
    expect(err.status).toBe(401);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`app ${APP_ID}, installation ${INSTALLATION}`);
    expect(err.message).toContain(`secret ${KEY_SECRET}`);
    expect(github().jwts).toHaveLength(0);
  });

  test('a missing key secret names the secret and the config key', async () => {
    await expect(credentials().get(auth, repo)).rejects.toThrow(
      `cannot read the GitHub App private key from secret ${KEY_SECRET} (ResourceNotFoundException); ` +
        'create it with the GitHub App private key as its value (github.auth.privateKeySecretName',
    );
  });

  test('a secret that holds no PEM key says what to store', async () => {
    await storeKey(KEY_SECRET, 'ghp_a_token_by_mistake');
    await expect(credentials().get(auth, repo)).rejects.toThrow(
      /not a PEM private key.*store the \.pem file/,
    );
    expect(mints()).toHaveLength(0);
  });

  test('the token option still reads the stored token', async () => {
    await storeKey('mlops/github-token', '{"token": "ghp_stored"}');
    await expect(
      credentials().get({ kind: 'token', tokenSecretName: 'mlops/github-token' }, repo),
    ).resolves.toBe('ghp_stored');
    expect(mints()).toHaveLength(0);
  });
});

describe('github.auth in config/platform.yaml', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());
  const AUTH_BLOCK = / {2}auth:\n {4}kind: app\n( {4}.*\n)+/;
  const replaceAuth = (to: string) => {
    const text = fixture.read('platform.yaml');
    const block = AUTH_BLOCK.exec(text)![0];
    fixture.edit('platform.yaml', block, to);
  };

  test('the shipped platform uses the GitHub App and the release settings carry it', () => {
    const config = fixture.load();
    expect(resolveGitHubAuth(config.platform.github)).toEqual(auth);
    expect(releaseSettings(config.platform, config.models[0]).github.auth).toEqual(auth);
  });

  test('a platform file with only the old tokenSecretName keeps commenting with that token', () => {
    replaceAuth('  tokenSecretName: team/gh-token\n');
    expect(resolveGitHubAuth(fixture.load().platform.github)).toEqual({
      kind: 'token',
      tokenSecretName: 'team/gh-token',
    });
  });

  test('tokenSecretName together with auth is rejected with the fix', () => {
    fixture.edit('platform.yaml', '  auth:\n', '  tokenSecretName: team/gh-token\n  auth:\n');
    let problems: string[] = [];
    try {
      fixture.load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems.map((p) => formatProblem(p));
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('platform.yaml');
    expect(problems[0]).toContain('github.tokenSecretName');
    expect(problems[0]).toContain('cannot be set together with github.auth; remove it');
  });

  test('an app without an installation id is rejected', () => {
    replaceAuth('  auth:\n    kind: app\n    appId: 123456\n');
    expect(() => fixture.load()).toThrow(/github\.auth\.installationId/);
  });
});
