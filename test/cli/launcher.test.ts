import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * bin/mlops.js and bin/app.js (what `cdk synth` runs) in a scratch clone whose "compiled" and
 * "source" entries each print which one ran: the compiled one must run only while no source is
 * newer than the build.
 */
describe('bin/mlops.js and bin/app.js: the compiled entry or, when that is stale, the TypeScript', () => {
  let clone: string;
  const run = (entry = 'mlops') =>
    spawnSync(process.execPath, [path.join(clone, `bin/${entry}.js`)], { encoding: 'utf8' });
  const at = (rel: string, seconds: number) => utimesSync(path.join(clone, rel), seconds, seconds);

  beforeEach(() => {
    clone = mkdtempSync(path.join(tmpdir(), 'mlops-launcher-'));
    mkdirSync(path.join(clone, 'bin'));
    mkdirSync(path.join(clone, 'lib'));
    mkdirSync(path.join(clone, 'dist/bin'), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
    for (const entry of ['launch', 'mlops', 'app']) {
      copyFileSync(path.join(ROOT, `bin/${entry}.js`), path.join(clone, `bin/${entry}.js`));
    }
    for (const entry of ['mlops', 'app']) {
      writeFileSync(
        path.join(clone, `bin/${entry}.ts`),
        `process.stdout.write('${entry}: typescript\\n');\n`,
      );
      writeFileSync(
        path.join(clone, `dist/bin/${entry}.js`),
        `process.stdout.write('${entry}: compiled\\n');\n`,
      );
    }
    writeFileSync(path.join(clone, 'lib/gate.ts'), 'export {};\n');
    writeFileSync(
      path.join(clone, 'dist/BUILT.json'),
      JSON.stringify({ sources: ['bin/mlops.ts', 'bin/app.ts', 'lib', 'lib/gate.ts'] }),
    );
    for (const rel of ['bin/mlops.ts', 'bin/app.ts', 'lib', 'lib/gate.ts']) at(rel, 1_000);
    at('dist/BUILT.json', 2_000);
  });
  afterEach(() => rmSync(clone, { recursive: true, force: true }));

  test('a build newer than every source runs the compiled CLI and app', () => {
    expect(run().stdout).toBe('mlops: compiled\n');
    expect(run('app').stdout).toBe('app: compiled\n');
  });

  test('an edited source runs the TypeScript, for the CLI and the app alike', () => {
    at('lib/gate.ts', 3_000);
    expect(run().stdout).toBe('mlops: typescript\n');
    expect(run('app').stdout).toBe('app: typescript\n');
  });

  test('a file added to a source folder runs the TypeScript', () => {
    writeFileSync(path.join(clone, 'lib/new-gate.ts'), 'export {};\n');
    expect(run().stdout).toBe('mlops: typescript\n');
  });

  test('a removed source runs the TypeScript', () => {
    rmSync(path.join(clone, 'lib/gate.ts'));
    at('lib', 1_000);
    expect(run().stdout).toBe('mlops: typescript\n');
  });

  test('`mlops --help` prints the help the build recorded, without running the CLI, while the build is fresh', () => {
    writeFileSync(path.join(clone, 'dist/mlops.help.txt'), 'Usage: mlops [options] [command]\n');
    const args = (...argv: string[]) =>
      spawnSync(process.execPath, [path.join(clone, 'bin/mlops.js'), ...argv], { encoding: 'utf8' }).stdout;
    expect(args('--help')).toBe('Usage: mlops [options] [command]\n');
    expect(args('-h')).toBe('Usage: mlops [options] [command]\n');
    expect(args('validate-config', '--help')).toBe('mlops: compiled\n');
    at('lib/gate.ts', 3_000);
    expect(args('--help')).toBe('mlops: typescript\n');
  });

  test('a bare `mlops --help` checks only the sources its recorded help depends on', () => {
    writeFileSync(path.join(clone, 'dist/mlops.help.txt'), 'Usage: mlops [options] [command]\n');
    writeFileSync(path.join(clone, 'lib/program.ts'), 'export {};\n');
    writeFileSync(
      path.join(clone, 'dist/BUILT.json'),
      JSON.stringify({
        sources: ['bin/mlops.ts', 'bin/app.ts', 'lib', 'lib/gate.ts', 'lib/program.ts'],
        help: ['bin/mlops.ts', 'lib/program.ts'],
      }),
    );
    for (const rel of ['lib', 'lib/program.ts']) at(rel, 1_000);
    at('dist/BUILT.json', 2_000);
    const args = (...argv: string[]) =>
      spawnSync(process.execPath, [path.join(clone, 'bin/mlops.js'), ...argv], { encoding: 'utf8' }).stdout;
    at('lib/gate.ts', 3_000);
    expect(args('--help')).toBe('Usage: mlops [options] [command]\n');
    expect(args('validate-config', '--help')).toBe('mlops: typescript\n');
    at('lib/program.ts', 3_000);
    expect(args('--help')).toBe('mlops: typescript\n');
  });

  test('no build (dist/ missing) runs the TypeScript', () => {
    rmSync(path.join(clone, 'dist'), { recursive: true });
    expect(run().stdout).toBe('mlops: typescript\n');
  });
});

/** The real build in a scratch copy: the help it records is what commander prints. */
test('the help build-cli.js records for `mlops --help` is the compiled CLI’s own', () => {
  const clone = mkdtempSync(path.join(tmpdir(), 'mlops-build-'));
  try {
    for (const rel of ['bin', 'lib', 'lambdas', 'scripts']) {
      cpSync(path.join(ROOT, rel), path.join(clone, rel), { recursive: true });
    }
    copyFileSync(path.join(ROOT, 'package.json'), path.join(clone, 'package.json'));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
    const build = spawnSync(process.execPath, [path.join(clone, 'scripts/build-cli.js')], {
      encoding: 'utf8',
    });
    expect(build.status).toBe(0);
    const help = (entry: string) =>
      spawnSync(process.execPath, [path.join(clone, entry), '--help'], { encoding: 'utf8' });
    const commander = help('dist/bin/mlops.js');
    expect(commander.status).toBe(0);
    expect(commander.stdout).toMatch(/^Usage: mlops \[options\] \[command\]\n[\s\S]*\n {2}validate-data /);
    expect(help('bin/mlops.js')).toMatchObject({ status: 0, stdout: commander.stdout });
    // What the recorded help depends on: the modules the compiled CLI loads to print it.
    const built = JSON.parse(readFileSync(path.join(clone, 'dist/BUILT.json'), 'utf8')) as { help: string[] };
    expect(built.help).toEqual(
      expect.arrayContaining(['bin/mlops.ts', 'lib/cli/main.ts', 'lib/cli/program.ts']),
    );
    expect(built.help.filter((rel) => rel.startsWith('lib/cli/commands/'))).toEqual([]);
  } finally {
    rmSync(clone, { recursive: true, force: true });
  }
});
