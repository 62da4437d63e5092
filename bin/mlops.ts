// The `mlops` command line: the platform's gates, runnable on a laptop and in CI. Wiring only.
import { endQuietlyOnClosedPipe } from '../lib/cli/io';
import { run } from '../lib/cli/program';

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
