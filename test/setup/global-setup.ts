import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MOTO_ENV, MotoPool } from '../helpers/moto-pool';
import { SYNTH_ENV } from '../helpers/shipped-platform-env';

/**
 * Once per jest run: one moto server per jest worker, started here and not awaited (the first
 * test file that needs one waits for it), so the ~1-5 s python start-up is paid once per worker
 * instead of once per file. One per worker rather than one for the run: `POST /moto-api/reset`
 * clears the whole server, and the workers run files in parallel.
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
  const children: ChildProcess[] = [];
  const endpoints: string[] = [];
  for (let i = 0; i < workers; i++) {
    const port = await freePort();
    const exitFile = path.join(statusDir, `moto-${i}.exit`);
    let output = '';
    const child = spawn('python3', ['-P', '-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
    child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
    // A moto that never started (no python3, no moto) is reported by the first test that needs it.
    child.on('error', (err) => writeFileSync(exitFile, `${err.message}\n${output}`));
    child.on('exit', (code, signal) => {
      if (!child.killed) writeFileSync(exitFile, `exited (${signal ?? code})\n${output}`);
    });
    children.push(child);
    endpoints.push(`http://127.0.0.1:${port}`);
  }
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
