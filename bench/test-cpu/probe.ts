/**
 * A jest setup file for bench/test-cpu.ts: appends one JSON line per test file with the CPU time
 * (user + system) and wall time that the file took in its jest worker. CPU time is what a busy
 * shared machine does not inflate much; child processes (moto, cfn-lint, the CLI) are not in it.
 */
import { appendFileSync } from 'node:fs';

const out = process.env.MLOPS_TEST_CPU_OUT;
const cpuStart = process.cpuUsage();
const wallStart = performance.now();

afterAll(() => {
  if (!out) return;
  const cpu = process.cpuUsage(cpuStart);
  const file = expect.getState().testPath ?? 'unknown';
  appendFileSync(
    out,
    JSON.stringify({ file, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wallStart }) +
      '\n',
  );
});
