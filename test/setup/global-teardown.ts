import { rmSync } from 'node:fs';

/** Stops the moto servers that global-setup.ts started and removes the run's synth folder. */
export default async function globalTeardown(): Promise<void> {
  if (globalThis.__mlopsSynthDir) rmSync(globalThis.__mlopsSynthDir, { recursive: true, force: true });
  const children = globalThis.__mlopsMotoChildren ?? [];
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
