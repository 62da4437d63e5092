import { Command, Help } from 'commander';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { COMMANDS } from '../../lib/cli/program';
import { runCli } from '../helpers/cli';

const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as {
  version: string;
};

describe('mlops: the command list', () => {
  test('--version prints the package version and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli(flag);
      expect(r).toEqual({ code: 0, stdout: `mlops ${pkg.version}\n`, stderr: '' });
    }
  });

  test('--help lists every command with its arguments and summary, and exits 0', async () => {
    const r = await runCli('--help');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    for (const c of COMMANDS) {
      const line = lines.find((l) => l.startsWith(`  ${c.name} `));
      expect(line?.trim().split(/ {2,}/)).toEqual([`${c.name} ${c.usage}`, c.summary]);
    }
  });

  test.each(COMMANDS.map((c) => [c.name, c] as const))(
    "%s: the list's name and arguments are what its module registers",
    (_name, entry) => {
      const program = new Command('mlops');
      entry
        .load()
        .register(program, { stdout: { write: () => true }, stderr: { write: () => true } }, () => undefined);
      expect(program.commands.map((cmd) => new Help().subcommandTerm(cmd))).toEqual([
        `${entry.name} ${entry.usage}`,
      ]);
    },
  );

  test('a mistyped command suggests the right one and exits 2', async () => {
    const r = await runCli('validate-confg');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'validate-confg'");
    expect(r.stderr).toContain('(Did you mean validate-config?)');
  });

  test("`mlops help <command>` shows that command's own help", async () => {
    const r = await runCli('help', 'estimate-cost');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: mlops estimate-cost [options]');
    expect(r.stdout).toContain('--monthly-requests');
  });
});
