import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { MOTO_ENV, MotoPool, motoServerArgs } from './moto-pool';

/**
 * A moto server (local AWS API emulator) on a loopback port.
 * Tests talk to it through the real AWS SDK clients. Fails loudly if python3 or moto is missing.
 */
export interface MotoServer {
  readonly endpoint: string;
  /** Clears every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Client config for SDK v3 clients: endpoint, dummy credentials, no retries of unimplemented calls. */
  readonly clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    forcePathStyle: true;
    maxAttempts: 1;
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const INSTALL_HINT =
  "moto did not start (python3 -P test/setup/moto-server.py). Install it with: pip install 'moto[server]'";

/**
 * Polls until moto answers; `failure()` returns why it can never answer (it exited), if known.
 * 90 s: the run's servers load moto and warm it up (~3-5 s of CPU) before they answer, which took
 * over 30 s on this 2-core machine at load average 28; a server that exits is reported at once.
 */
async function waitUntilReady(endpoint: string, failure: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const why = failure();
    if (why !== undefined) throw new Error(`${INSTALL_HINT}\n${why}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${INSTALL_HINT}\n(no answer from ${endpoint} in 90 s)\n${failure() ?? ''}`);
}

function clientConfigFor(endpoint: string): MotoServer['clientConfig'] {
  return {
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
    maxAttempts: 1,
  };
}

async function resetServer(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
}

/** A moto server of its own (benchmarks; tests share the jest worker's, see useMoto). */
export async function startMoto(): Promise<MotoServer & { stop(): Promise<void> }> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  let exited: string | undefined;
  const child = spawn('python3', motoServerArgs([port]), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.on('error', (err) => (exited = err.message));
  child.on('exit', (code, signal) => (exited ??= `exited (${signal ?? code})`));
  await waitUntilReady(endpoint, () => (exited === undefined ? undefined : `${exited}\n${output}`));
  return {
    endpoint,
    clientConfig: clientConfigFor(endpoint),
    reset: () => resetServer(endpoint),
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/**
 * The moto server of this jest worker, started by test/setup/global-setup.ts, and why it cannot
 * answer if it exited. Files in one worker run one after another, so resetting it before each
 * test is safe. Undefined when jest ran without that global setup.
 */
function workerServer(): { server: MotoServer; failure: () => string | undefined } | undefined {
  const raw = process.env[MOTO_ENV];
  if (!raw) return undefined;
  const pool = JSON.parse(raw) as MotoPool;
  // Worker ids are 1..maxWorkers; a run in band is worker 1.
  const index = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % pool.endpoints.length;
  const endpoint = pool.endpoints[index];
  const failure = () => {
    try {
      return readFileSync(path.join(pool.statusDir, `moto-${index}.exit`), 'utf8');
    } catch {
      return undefined;
    }
  };
  return {
    server: { endpoint, clientConfig: clientConfigFor(endpoint), reset: () => resetServer(endpoint) },
    failure,
  };
}

/**
 * The file's moto server: the jest worker's shared one (waiting until it answers), or one of its
 * own without the global setup. Reset before each test. Fails loudly if python3 or moto is missing.
 */
export function useMoto(): MotoServer {
  let server: MotoServer | undefined;
  let own: Awaited<ReturnType<typeof startMoto>> | undefined;
  const get = () => {
    if (!server) throw new Error('moto is not running (useMoto() must be called at describe level)');
    return server;
  };
  beforeAll(async () => {
    const shared = workerServer();
    if (shared) {
      await waitUntilReady(shared.server.endpoint, shared.failure);
      server = shared.server;
    } else {
      server = own = await startMoto();
    }
  }, 100_000);
  beforeEach(async () => get().reset());
  afterAll(async () => own?.stop());
  return {
    get endpoint() {
      return get().endpoint;
    },
    get clientConfig() {
      return get().clientConfig;
    },
    reset: () => get().reset(),
  };
}
