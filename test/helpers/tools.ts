import { spawnSync } from 'node:child_process';

/**
 * A test that needs an external tool fails when it is missing, with the fix in the message:
 * a silently skipped check is a check that never ran.
 */
export function requireTool(command: string, args: string[], install: string): void {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${probe.error?.message ?? probe.stderr.trim()}).\n` +
        `This test needs it: ${install}`,
    );
  }
}
