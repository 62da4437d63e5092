// The `mlops` process: runs the CLI on argv and the process streams. bin/mlops.ts imports it; the
// build bundles it with program.ts (bench/README.md, "startup": one file instead of four keeps
// `mlops --help` under 45 MiB).
import { endQuietlyOnClosedPipe } from './io';
import { run } from './program';

endQuietlyOnClosedPipe(process.stdout);

run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `mlops: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 2;
  },
);
