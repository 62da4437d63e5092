import { appendFileSync, readFileSync, rmSync } from 'node:fs';

/** Stops the moto servers that global-setup.ts started and removes the run's synth folder. */
export default async function globalTeardown(): Promise<void> {
  if (globalThis.__mlopsSynthDir) rmSync(globalThis.__mlopsSynthDir, { recursive: true, force: true });
  const children = globalThis.__mlopsMotoChildren ?? [];
  recordMotoCpu(children.map((c) => c.pid));
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          // Never started (no python3), or already gone.
          if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
            return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * For bench/test-cpu.ts: the moto servers' CPU time (user + system, from /proc/<pid>/stat, in clock
 * ticks of 10 ms), one line in the same file as the suites' lines. Linux only; silent elsewhere.
 */
function recordMotoCpu(pids: readonly (number | undefined)[]): void {
  const out = process.env.MLOPS_TEST_CPU_OUT;
  if (!out) return;
  let ticks = 0;
  // The servers test/setup/moto-server.py forked, one per worker, are its children.
  const children = (pid: number | undefined) =>
    readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      for (const p of [pid, ...children(pid)]) {
        // Fields 14 and 15 (utime, stime) after the parenthesised command name.
        const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      }
    } catch {
      return;
    }
  }
  appendFileSync(out, JSON.stringify({ file: '(moto servers)', cpuMs: ticks * 10, wallMs: 0 }) + '\n');
}
