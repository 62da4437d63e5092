/**
 * What several benches share: the median of their rounds, one command timed by /usr/bin/time
 * (wall, CPU, peak RSS), and a config directory with many models.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import * as path from 'node:path';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface ProcessSample {
  readonly wall: number;
  /** user + system seconds */
  readonly cpu: number;
  readonly rssMiB: number;
}

/** Runs `command` in `cwd` under /usr/bin/time; throws, with its output, when it fails. */
export function timeProcess(name: string, command: readonly string[], cwd: string): ProcessSample {
  const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...command], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = res.stderr.trim().split('\n').pop() ?? '';
  const [wall, user, sys, rssKiB] = last.split(' ').map(Number);
  if (res.status !== 0 || !Number.isFinite(wall)) {
    throw new Error(`${name} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  }
  return { wall: wall!, cpu: user! + sys!, rssMiB: rssKiB! / 1024 };
}

/** A copy of `root`/config with `count` models: the example model under the names model-01 ... */
export function manyModelsConfig(root: string, count: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mlops-bench-config-'));
  cpSync(path.join(root, 'config'), dir, { recursive: true });
  const example = readFileSync(path.join(dir, 'models', 'document-classifier.yaml'), 'utf8');
  rmSync(path.join(dir, 'models', 'document-classifier.yaml'));
  for (let i = 1; i <= count; i++) {
    const name = `model-${String(i).padStart(2, '0')}`;
    writeFileSync(path.join(dir, 'models', `${name}.yaml`), example.replaceAll('document-classifier', name));
  }
  return dir;
}

/** A loopback port nothing listens on now (for a moto server a bench starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
