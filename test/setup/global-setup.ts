import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MOTO_ENV, MotoPool, motoServerArgs } from '../helpers/moto-pool';
import { SYNTH_ENV } from '../helpers/shipped-platform-env';

/**
 * Once per jest run: one moto server per jest worker, started here and not awaited (the first
 * test file that needs one waits for it), so the ~1-5 s python start-up is paid once per run
 * instead of once per file. One per worker rather than one for the run: `POST /moto-api/reset`
 * clears the whole server, and the workers run files in parallel. The servers are forked from one
 * python process that loaded moto once (test/setup/moto-server.py).
 */
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

declare global {
  // Handed from globalSetup to globalTeardown (same process).
  var __mlopsMotoChildren: ChildProcess[] | undefined;
  var __mlopsSynthDir: string | undefined;
}

export default async function globalSetup(globalConfig: { readonly maxWorkers: number }): Promise<void> {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor < 22) {
    // The SDK prints its own notice once per test file (17 times); say it once, here.
    process.stderr.write(
      `\nNode ${process.versions.node} is past end of life; this project supports Node 22 and 24 (Lambda runs 24). ` +
        'The AWS SDK releases from January 2027 on need Node >= 22.\n',
    );
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  const workers = Math.max(1, globalConfig.maxWorkers);
  const statusDir = mkdtempSync(path.join(tmpdir(), 'mlops-moto-'));
  const ports: number[] = [];
  while (ports.length < workers) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const endpoints = ports.map((port) => `http://127.0.0.1:${port}`);
  // One python process for all the servers: it loads moto once and forks a server per port.
  let output = '';
  const child = spawn('python3', motoServerArgs(ports), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  // A moto that never started (no python3, no moto) is reported by the first test that needs it.
  const failed = (why: string) =>
    ports.forEach((_, i) => writeFileSync(path.join(statusDir, `moto-${i}.exit`), `${why}\n${output}`));
  child.on('error', (err) => failed(err.message));
  child.on('exit', (code, signal) => {
    if (!child.killed) failed(`exited (${signal ?? code})`);
  });
  const children: ChildProcess[] = [child];
  globalThis.__mlopsMotoChildren = children;
  // Where the first test file that calls shippedPlatform() leaves the run's one synth of config/.
  const synthDir = mkdtempSync(path.join(tmpdir(), 'mlops-shipped-synth-'));
  globalThis.__mlopsSynthDir = synthDir;
  // Safety net for an interrupted run: globalTeardown does not run then.
  process.once('exit', () => {
    children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
    rmSync(synthDir, { recursive: true, force: true });
  });
  const pool: MotoPool = { endpoints, statusDir };
  process.env[MOTO_ENV] = JSON.stringify(pool);
  process.env[SYNTH_ENV] = synthDir;
}
