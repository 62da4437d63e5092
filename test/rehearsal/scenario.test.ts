import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseScenario, ScenarioError } from '../../lib/rehearsal/scenario';
import { runCli } from '../helpers/cli';

function problems(text: string): string[] {
  try {
    parseScenario(text, 'drill.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return error.message.split('\n');
    throw error;
  }
  throw new Error('the scenario parsed');
}

const HEAD = 'model: document-classifier\ntraffic: { requestsPerMinute: 200 }\nseed: 7\nsteps:\n';

describe('scenario format', () => {
  it('reads the format of the issue as written', () => {
    const scenario = parseScenario(
      HEAD +
        [
          '  - release: v2',
          '  - release: v3',
          '    instanceType: ml.g5.2xlarge',
          '    stopAfter: canary',
          '  - degrade: { version: v3, confidenceMean: 0.6 }',
          '  - fail: { call: UpdateEndpoint, times: 2, error: ThrottlingException }',
          '  - retry: promotion',
          '  - rollback: { reason: drill }',
          '  - wait: 20m',
          '  - expect: { serving: v2, liveEndpoint: v2, standby: v1, routerEndpoint: live, liveInstances: 2 }',
        ].join('\n'),
      'drill.yaml',
    );
    expect(scenario.steps.map((s) => s.kind)).toEqual([
      'release',
      'release',
      'degrade',
      'fail',
      'retry',
      'rollback',
      'wait',
      'expect',
    ]);
    expect(scenario.steps[1]).toMatchObject({
      version: 'v3',
      instanceType: 'ml.g5.2xlarge',
      stopAfter: 'canary',
      line: 6,
    });
    expect(scenario.steps[6]).toMatchObject({ ms: 20 * 60_000 });
    expect(scenario.initial).toBe('v1');
  });

  it('reads a release paused part-way through a stage, and refuses a pause it could never reach', () => {
    const scenario = parseScenario(
      `${HEAD}  - release: v2\n    pauseIn: canary\n    pauseAfter: 90s\n  - rollback: { reason: drill }\n`,
      'drill.yaml',
    );
    expect(scenario.steps[0]).toMatchObject({ pauseIn: 'canary', pauseAfterMs: 90_000 });
    expect(problems(`${HEAD}  - release: v2\n    pauseIn: canery\n`)).toEqual([
      expect.stringMatching(/^drill\.yaml:6 steps\.0\.pauseIn: got "canery" \(did you mean "canary"\?\)/),
    ]);
    expect(problems(`${HEAD}  - release: v2\n    stopAfter: shadow\n    pauseIn: promotion\n`)).toEqual([
      'drill.yaml:7 steps.0.pauseIn: the run stops after shadow, so it never reaches promotion; pause in shadow, or remove stopAfter',
    ]);
    expect(problems(`${HEAD}  - release: v2\n    pauseAfter: -1m\n`)).toEqual([
      'drill.yaml:6 steps.0.pauseAfter: a wait cannot be negative (got "-1m"; write it like 90s, 20m or 24h)',
      'drill.yaml:6 steps.0.pauseAfter: says how long into the paused stage, but no pauseIn names the stage; add pauseIn: shadow | canary | promotion',
    ]);
  });

  it('reads a retirement and a change of traffic, and names what is wrong with them', () => {
    const scenario = parseScenario(
      `${HEAD}  - traffic: { requestsPerMinute: 0 }\n  - retire: {}\n`,
      'drill.yaml',
    );
    expect(scenario.steps).toEqual([
      { kind: 'traffic', line: 5, requestsPerMinute: 0 },
      { kind: 'retire', line: 6 },
    ]);
    expect(problems(`${HEAD}  - retire: { force: true }\n  - traffic: { requestsPerMinute: -1 }\n`)).toEqual([
      'drill.yaml:5 steps.0.retire: got {"force":true}; write "retire: {}" (a deploy with serving.retired: true takes no options)',
      'drill.yaml:6 steps.1.traffic.requestsPerMinute: got -1; expected a number of requests per minute (0: the callers stopped) from 0 to 6000',
    ]);
    expect(problems(`${HEAD}  - retier: {}\n`)).toEqual([
      expect.stringMatching(
        /^drill\.yaml:5 steps\.0\.retier: unknown step "retier" \(did you mean "retire"\?\)/,
      ),
    ]);
  });

  it('names the file, line and key of a typo, with the key it probably meant', () => {
    expect(problems(`${HEAD}  - release: v2\n    stopAfer: canary\n`)).toEqual([
      expect.stringMatching(/^drill\.yaml:6 steps\.0\.stopAfer: unknown key \(did you mean "stopAfter"\?\)/),
    ]);
  });

  it('refuses an unknown step and lists the steps there are', () => {
    expect(problems(`${HEAD}  - rolback: { reason: x }\n`)).toEqual([
      expect.stringMatching(
        /^drill\.yaml:5 steps\.0\.rolback: unknown step "rolback" \(did you mean "rollback"\?\); a step is one of release, degrade/,
      ),
    ]);
  });

  it('refuses a version that was never released before the step', () => {
    expect(problems(`${HEAD}  - degrade: { version: v9, errorRate: 0.2 }\n`)).toEqual([
      expect.stringMatching(
        /^drill\.yaml:5 steps\.0\.degrade\.version: version "v9" was never released before this step \(released so far: v1\)/,
      ),
    ]);
  });

  it('refuses a negative wait and says how to write a duration', () => {
    expect(problems(`${HEAD}  - wait: -5m\n`)).toEqual([
      'drill.yaml:5 steps.0.wait: a wait cannot be negative (got "-5m"; write it like 90s, 20m or 24h)',
    ]);
    expect(parseDuration('90s')).toEqual({ ms: 90_000 });
    expect(parseDuration('24h')).toEqual({ ms: 86_400_000 });
  });

  it('refuses an "already updating" fault on a call whose service has no such state, and says which faults it has', () => {
    expect(problems(`${HEAD}  - fail: { call: PutObject, times: 2, error: AlreadyUpdating }\n`)).toEqual([
      'drill.yaml:5 steps.0.fail.error: "AlreadyUpdating": PutObject has no "already updating" fault: S3 does not ' +
        'refuse it because the resource is being changed; use ThrottlingException, InternalFailure, ' +
        'ServiceUnavailable or TimeoutError',
    ]);
    // DynamoDB refuses a write to an item of a transaction in progress (TransactionConflictException).
    expect(() =>
      parseScenario(`${HEAD}  - fail: { call: PutItem, times: 1, error: AlreadyUpdating }\n`, 'drill.yaml'),
    ).not.toThrow();
  });

  it('reports every problem at once', () => {
    expect(
      problems('model: document-classifier\nsed: 7\nsteps:\n  - wait: soon\n  - retry: promotoin\n'),
    ).toEqual([
      expect.stringMatching(/^drill\.yaml:2 sed: unknown key \(did you mean "seed"\?\)/),
      expect.stringMatching(/^drill\.yaml:4 steps\.0\.wait: not a duration \(got "soon"/),
      expect.stringMatching(/^drill\.yaml:5 steps\.1\.retry: got "promotoin" \(did you mean "promotion"\?\)/),
      'drill.yaml:5 steps.1.retry: no release ran before this step, so there is no stage to retry',
    ]);
  });

  it('exits 2 from the CLI with the messages on stderr, before anything runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rehearse-'));
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, `${HEAD}  - wait: -5m\n  - expect: { serving: v7 }\n`);
    const result = await runCli('rehearse', file);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${file}:5 steps.0.wait: a wait cannot be negative`);
    expect(result.stderr).toContain(`${file}:6 steps.1.expect.serving: version "v7" was never released`);
    expect((await runCli('rehearse', join(dir, 'missing.yaml'))).code).toBe(2);
  });

  it('with --json, exits 2 with the problems as the one JSON document on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rehearse-'));
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, `${HEAD}  - wiat: 10m\n`);
    const result = await runCli('rehearse', file, '--json');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      scenario: file,
      ok: false,
      problems: [
        expect.objectContaining({
          file,
          line: 5,
          path: 'steps.0.wiat',
          message: expect.stringMatching(/^unknown step "wiat" \(did you mean "wait"\?\)/),
        }),
      ],
    });
  });

  it('names the line of the model key for an unknown model, after a header comment, and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rehearse-'));
    const file = join(dir, 'drill.yaml');
    writeFileSync(
      file,
      `# A drill.\n# Two lines of comment.\n${HEAD.replace('document-classifier', 'document-clasifier')}  - wait: 1m\n`,
    );
    const text = await runCli('rehearse', file);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain(
      `${file}:3 model: unknown model "document-clasifier" (models in config/models/: document-classifier); use one of them or --config-dir`,
    );
    const json = await runCli('rehearse', file, '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).problems).toEqual([expect.objectContaining({ line: 3, path: 'model' })]);
  });
});
