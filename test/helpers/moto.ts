import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A moto server (local AWS API emulator) on a free loopback port, for one test file.
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

async function waitUntilReady(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `moto did not start (python3 -P -m moto.server). Install it with: pip install 'moto[server]'\n${output()}`,
  );
}

export async function startMoto(): Promise<MotoServer & { stop(): Promise<void> }> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn('python3', ['-P', '-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.on('error', (err) => (output += `\n${err.message}`));
  await waitUntilReady(endpoint, child, () => output);
  return {
    endpoint,
    clientConfig: {
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      forcePathStyle: true,
      maxAttempts: 1,
    },
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/** Starts moto before the file's tests, resets it before each test, stops it after. */
export function useMoto(): MotoServer {
  let server: Awaited<ReturnType<typeof startMoto>> | undefined;
  const get = () => {
    if (!server) throw new Error('moto is not running (useMoto() must be called at describe level)');
    return server;
  };
  beforeAll(async () => {
    server = await startMoto();
  }, 30_000);
  beforeEach(async () => get().reset());
  afterAll(async () => server?.stop());
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
