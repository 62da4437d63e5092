import fc from 'fast-check';
import {
  CONTINUATION_TOKEN_LIMIT,
  CanaryTokenError,
  canaryGuardrails,
  canaryStep,
  decodeCanaryToken,
  deploymentAlarms,
  encodeCanaryToken,
  type AlarmStatus,
  type CanaryState,
  type EndpointDescription,
} from '../../lambdas/core/serving/canary';

const CANDIDATE = 'churn-cfg-b2';
const PREVIOUS = 'churn-cfg-a1';
const ALARMS = ['churn-canary-5xx', 'churn-canary-latency'];
const deploymentConfig: EndpointDescription['LastDeploymentConfig'] = {
  BlueGreenUpdatePolicy: {
    TrafficRoutingConfiguration: {
      Type: 'CANARY',
      WaitIntervalInSeconds: 600,
      CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 },
    },
    MaximumExecutionTimeoutInSeconds: 7200,
  },
  AutoRollbackConfiguration: { Alarms: ALARMS.map((AlarmName) => ({ AlarmName })) },
};

function endpoint(
  status: string,
  config: string,
  extra: Partial<EndpointDescription> = {},
): EndpointDescription {
  return {
    EndpointName: 'churn-live',
    EndpointStatus: status,
    EndpointConfigName: config,
    LastDeploymentConfig: deploymentConfig,
    ...extra,
  };
}

const ok: AlarmStatus[] = ALARMS.map((name) => ({ name, state: 'OK' }));
const latencyAlarm: AlarmStatus[] = [
  { name: 'churn-canary-5xx', state: 'OK' },
  { name: 'churn-canary-latency', state: 'ALARM' },
];

describe('canaryStep: while the update runs', () => {
  test.each(['Creating', 'Updating', 'SystemUpdating'])('%s waits and says for how long', (status) => {
    expect(canaryStep(CANDIDATE, endpoint(status, PREVIOUS), ok, 125, 7500)).toEqual({
      kind: 'wait',
      reason: `endpoint "churn-live" is ${status}; waited 2 min of 2 h 5 min`,
      alarmsSeen: [],
    });
  });

  test('RollingBack waits for the rollback to finish and remembers the alarm that is firing', () => {
    expect(canaryStep(CANDIDATE, endpoint('RollingBack', CANDIDATE), latencyAlarm, 30, 3600)).toEqual({
      kind: 'wait',
      reason:
        'SageMaker is rolling the update back (alarm "churn-canary-latency" in ALARM); waited 30 s of 1 h',
      alarmsSeen: ['churn-canary-latency'],
    });
  });

  test('alarms seen on earlier polls are carried forward, sorted and without duplicates', () => {
    const step = canaryStep(CANDIDATE, endpoint('Updating', PREVIOUS), latencyAlarm, 30, 3600, {
      alarmsSeen: ['churn-canary-latency', 'churn-canary-5xx'],
    });
    expect(step.alarmsSeen).toEqual(['churn-canary-5xx', 'churn-canary-latency']);
  });

  test('past maxSeconds it fails with a timeout that tells the operator what to check', () => {
    expect(canaryStep(CANDIDATE, endpoint('Updating', PREVIOUS), ok, 7260, 7200)).toEqual({
      kind: 'fail',
      message:
        'Canary timed out after 2 h 1 min (limit 2 h): endpoint "churn-live" is Updating, serving config ' +
        '"churn-cfg-a1". SageMaker may still finish or roll back the update on its own: check DescribeEndpoint ' +
        'before retrying, and raise serving.canary.maxExecutionTimeoutMinutes if the update is just slow.',
      alarmsSeen: [],
    });
  });

  test('exactly at maxSeconds it still waits', () => {
    expect(canaryStep(CANDIDATE, endpoint('Updating', PREVIOUS), ok, 7200, 7200).kind).toBe('wait');
  });
});

describe('canaryStep: when the update has ended', () => {
  test('InService with the candidate config passes with a summary of the deployment', () => {
    const described = endpoint('InService', CANDIDATE, {
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 2, CurrentWeight: 1 }],
    });
    expect(canaryStep(CANDIDATE, described, ok, 1500, 7200)).toEqual({
      kind: 'pass',
      summary:
        'Canary passed: endpoint "churn-live" is InService with the candidate config "churn-cfg-b2"; traffic ' +
        'routing CANARY 10%, baked 10 min; watched by alarms "churn-canary-5xx", "churn-canary-latency"; ' +
        'variants: AllTraffic 2 instance(s).',
      alarmsSeen: [],
    });
  });

  test('no pass while a guardrail alarm is in ALARM, even after the deployment (issue 11)', () => {
    const step = canaryStep(CANDIDATE, endpoint('InService', CANDIDATE), latencyAlarm, 1500, 7200);
    expect(step).toEqual({
      kind: 'fail',
      message:
        'Canary failed: alarm "churn-canary-latency" is in ALARM while the candidate config "churn-cfg-b2" serves ' +
        'on endpoint "churn-live": the alarm went off after SageMaker\'s guardrails stopped watching (they watch ' +
        'only during the deployment and its bake), so the candidate is not released.',
      alarmsSeen: ['churn-canary-latency'],
    });
  });

  test('a first release (no guardrails) still passes and mentions the alarm', () => {
    const step = canaryStep(CANDIDATE, endpoint('InService', CANDIDATE), latencyAlarm, 1500, 7200, {
      guarded: false,
    });
    expect(step.kind).toBe('pass');
    expect(step.kind === 'pass' && step.summary).toContain(
      'note: alarm "churn-canary-latency" is in ALARM now, after the deployment; watch the live endpoint.',
    );
  });

  test('a quiet rollback (InService, old config) fails naming the alarm in ALARM', () => {
    expect(canaryStep(CANDIDATE, endpoint('InService', PREVIOUS), latencyAlarm, 900, 7200)).toEqual({
      kind: 'fail',
      message:
        'Canary failed: the update to "churn-cfg-b2" was rolled back; alarm "churn-canary-latency" is in ALARM. ' +
        'Endpoint "churn-live" is InService but serves config "churn-cfg-a1", not the candidate\'s. The previous ' +
        "model still serves all traffic; look at the candidate's 5xx rate and model latency during the canary " +
        'before releasing it again.',
      alarmsSeen: ['churn-canary-latency'],
    });
  });

  test('names every alarm in ALARM', () => {
    const both = ALARMS.map((name) => ({ name, state: 'ALARM' }));
    const step = canaryStep(CANDIDATE, endpoint('InService', PREVIOUS), both, 900, 7200);
    expect(step.kind === 'fail' && step.message).toContain(
      'alarms "churn-canary-5xx", "churn-canary-latency" are in ALARM',
    );
  });

  test('an alarm back to OK by now is still named when an earlier poll saw it in ALARM', () => {
    const step = canaryStep(CANDIDATE, endpoint('InService', PREVIOUS), ok, 900, 7200, {
      alarmsSeen: ['churn-canary-5xx'],
    });
    expect(step.kind === 'fail' && step.message).toContain(
      'was rolled back; alarm "churn-canary-5xx" was in ALARM during the deployment.',
    );
  });

  test('a rollback with no alarm in sight fails with the FailureReason and where to look', () => {
    const described = endpoint('InService', PREVIOUS, { FailureReason: 'Canary fleet health check failed.' });
    expect(canaryStep(CANDIDATE, described, ok, 900, 7200)).toEqual({
      kind: 'fail',
      message:
        'Canary failed: the update to "churn-cfg-b2" was rolled back by SageMaker (FailureReason: Canary fleet ' +
        'health check failed.). Endpoint "churn-live" is InService but serves config "churn-cfg-a1", not the ' +
        "candidate's. No auto-rollback alarm is in ALARM now and guardrails watch alarms only during the " +
        'deployment and its bake: check the history of alarms "churn-canary-5xx", "churn-canary-latency" over ' +
        "the deployment window. The previous model still serves all traffic; look at the candidate's 5xx rate " +
        'and model latency during the canary before releasing it again.',
      alarmsSeen: [],
    });
  });

  test('a rollback without FailureReason or deployment config still reads', () => {
    const step = canaryStep(
      CANDIDATE,
      { EndpointStatus: 'InService', EndpointConfigName: PREVIOUS },
      [],
      900,
      7200,
    );
    expect(step.kind === 'fail' && step.message).toContain(
      'rolled back by SageMaker (FailureReason: none given). The live endpoint is InService',
    );
    expect(step.kind === 'fail' && step.message).toContain('check the history of the auto-rollback alarms');
  });

  test('Failed fails with the FailureReason', () => {
    const described = endpoint('Failed', PREVIOUS, { FailureReason: 'Image churn:b2 not found.' });
    expect(canaryStep(CANDIDATE, described, ok, 60, 7200)).toEqual({
      kind: 'fail',
      message:
        'Canary failed: endpoint "churn-live" is Failed (FailureReason: Image churn:b2 not found.). Fix the ' +
        'cause the FailureReason names (often the model image, the artifact, or the instance quota), then rerun ' +
        'the release; run the rollback to move traffic to the standby endpoint meanwhile.',
      alarmsSeen: [],
    });
  });

  test('UpdateRollbackFailed asks an operator to act and says what to check first', () => {
    const described = endpoint('UpdateRollbackFailed', CANDIDATE, { FailureReason: 'Rollback timed out.' });
    expect(canaryStep(CANDIDATE, described, latencyAlarm, 60, 7200)).toEqual({
      kind: 'fail',
      message:
        "Canary failed and needs an operator: both the blue/green deployment and SageMaker's rollback failed " +
        'on endpoint "churn-live" (FailureReason: Rollback timed out.), so it may serve a mix of the old and new ' +
        'configs. First check DescribeEndpoint ProductionVariants (which variants and instance counts serve) and ' +
        'the FailureReason; then run the rollback, which moves traffic to the standby endpoint, and update the ' +
        'live endpoint back to the previous config once it is stable.',
      alarmsSeen: ['churn-canary-latency'],
    });
  });

  test.each(['OutOfService', 'Deleting', 'SomethingNew'])('status %s fails as unexpected', (status) => {
    expect(canaryStep(CANDIDATE, endpoint(status, PREVIOUS), ok, 60, 7200)).toEqual({
      kind: 'fail',
      message:
        `Canary failed: endpoint "churn-live" has status "${status}", which no canary deployment should produce ` +
        '(expected Updating, RollingBack or InService). Check whether someone deleted or changed the endpoint ' +
        'by hand, then rerun the release.',
      alarmsSeen: [],
    });
  });
});

describe('canaryStep: malformed input is a failure, never a throw', () => {
  const updating = endpoint('Updating', PREVIOUS);
  test.each<[string, string, unknown, number, number, string]>([
    [
      'empty expected config',
      '',
      updating,
      0,
      60,
      'expectedConfigName "" (expected a non-empty config name)',
    ],
    ['null describe', CANDIDATE, null, 0, 60, 'a DescribeEndpoint output of null (expected an object)'],
    [
      'numeric status',
      CANDIDATE,
      { EndpointStatus: 3 },
      0,
      60,
      'DescribeEndpoint EndpointStatus of type number (expected a string)',
    ],
    [
      'NaN elapsed',
      CANDIDATE,
      updating,
      Number.NaN,
      60,
      'elapsedSeconds NaN (expected a finite number >= 0)',
    ],
    ['zero maxSeconds', CANDIDATE, updating, 0, 0, 'maxSeconds 0 (expected a finite number > 0)'],
  ])('%s', (_label, expected, described, elapsed, max, problem) => {
    expect(canaryStep(expected, described as EndpointDescription, ok, elapsed, max)).toEqual({
      kind: 'fail',
      message: `canary check got ${problem}; this is a bug in the canary handler, please report it`,
      alarmsSeen: [],
    });
  });

  const statuses = fc.constantFrom(
    'Creating',
    'Updating',
    'SystemUpdating',
    'RollingBack',
    'InService',
    'Failed',
    'UpdateRollbackFailed',
    'OutOfService',
  );
  const anyDescribe = fc.oneof(
    fc.record(
      {
        EndpointName: fc.string(),
        EndpointStatus: fc.oneof(statuses, fc.string()),
        EndpointConfigName: fc.oneof(fc.constantFrom(CANDIDATE, PREVIOUS), fc.string()),
        FailureReason: fc.string(),
        LastDeploymentConfig: fc.oneof(fc.constant(deploymentConfig), fc.anything()),
        ProductionVariants: fc.anything(),
      },
      { requiredKeys: [] },
    ),
    fc.anything(),
  );
  const anyAlarms = fc.oneof(
    fc.array(fc.record({ name: fc.string(), state: fc.constantFrom('OK', 'ALARM', 'INSUFFICIENT_DATA') })),
    fc.anything(),
  );
  const anyNumber = fc.oneof(fc.double(), fc.integer({ min: 0, max: 100_000 }));

  test('no input throws, and a pass always means InService with the expected config', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(CANDIDATE), fc.string()),
        anyDescribe,
        anyAlarms,
        anyNumber,
        anyNumber,
        (expected, described, alarms, elapsed, max) => {
          const step = canaryStep(
            expected,
            described as EndpointDescription,
            alarms as AlarmStatus[],
            elapsed,
            max,
          );
          expect(['wait', 'pass', 'fail']).toContain(step.kind);
          if (step.kind === 'pass') {
            const d = described as EndpointDescription;
            expect(d.EndpointStatus).toBe('InService');
            expect(d.EndpointConfigName).toBe(expected);
          }
          expect(JSON.parse(JSON.stringify(step))).toEqual(step);
        },
      ),
    );
  });
});

describe('canary continuation token', () => {
  const state: CanaryState = {
    endpointName: 'churn-live',
    expectedConfigName: CANDIDATE,
    previousConfigName: PREVIOUS,
    startedAtMs: 1_793_612_100_000,
    polls: 3,
    alarmsSeen: ['churn-canary-latency'],
  };

  test('is prefixed base64url and decodes to the same state', () => {
    const token = encodeCanaryToken(state);
    expect(token).toMatch(/^canary\.[A-Za-z0-9_-]+$/);
    expect(decodeCanaryToken(token)).toEqual(state);
  });

  test('a reverting canary (its candidate served and failed) stays reverting across polls; others never are', () => {
    const reverting = { ...state, reverting: true as const };
    expect(decodeCanaryToken(encodeCanaryToken(reverting))).toEqual(reverting);
    expect(decodeCanaryToken(encodeCanaryToken(state)).reverting).toBeUndefined();
  });

  // SageMaker names: up to 63 letters, digits and hyphens; CloudWatch alarm names up to 255 characters.
  const sageMakerName = fc.stringMatching(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/).filter((n) => n.length <= 63);
  const alarmName = fc.string({ minLength: 1, maxLength: 255, unit: 'grapheme-ascii' });
  test('any state with real SageMaker and alarm names (up to 4 alarms) fits the limit and round-trips', () => {
    fc.assert(
      fc.property(
        fc.record({
          endpointName: sageMakerName,
          expectedConfigName: sageMakerName,
          previousConfigName: sageMakerName,
          startedAtMs: fc.nat(),
          polls: fc.nat(),
          alarmsSeen: fc.uniqueArray(alarmName, { maxLength: 4 }),
        }),
        (s) => {
          const token = encodeCanaryToken(s);
          expect(token.length).toBeLessThanOrEqual(CONTINUATION_TOKEN_LIMIT);
          expect(decodeCanaryToken(token)).toEqual(s);
        },
      ),
    );
  });

  test('any Unicode state either round-trips within the limit or is refused with CanaryTokenError', () => {
    const anyName = fc.string({ minLength: 1, maxLength: 255, unit: 'grapheme' });
    fc.assert(
      fc.property(
        fc.record({
          endpointName: anyName,
          expectedConfigName: anyName,
          previousConfigName: anyName,
          startedAtMs: fc.nat(),
          polls: fc.nat(),
          alarmsSeen: fc.array(anyName, { maxLength: 6 }),
        }),
        (s) => {
          let token: string;
          try {
            token = encodeCanaryToken(s);
          } catch (error) {
            expect(error).toBeInstanceOf(CanaryTokenError);
            return;
          }
          expect(token.length).toBeLessThanOrEqual(CONTINUATION_TOKEN_LIMIT);
          expect(decodeCanaryToken(token)).toEqual(s);
        },
      ),
    );
  });

  test("refuses to write a token over CodePipeline's 2048 characters", () => {
    const long = { ...state, alarmsSeen: Array.from({ length: 8 }, (_, i) => `${'a'.repeat(200)}-${i}`) };
    expect(() => encodeCanaryToken(long)).toThrow(CanaryTokenError);
    expect(() => encodeCanaryToken(long)).toThrow(
      /^canary continuation token is 2\d{3} characters, over CodePipeline's limit of 2048; shorten the endpoint, config or auto-rollback alarm names$/,
    );
  });

  test('refuses to write an invalid state, naming the field', () => {
    expect(() => encodeCanaryToken({ ...state, polls: -1 })).toThrow(
      'cannot write a canary continuation token: polls: Too small: expected number to be >=0',
    );
  });

  test('a foreign token is named as such', () => {
    expect(() => decodeCanaryToken('eyJzb21lIjoib3RoZXIifQ')).toThrow(
      'continuation token "eyJzb21lIjoib3RoZXIifQ" was not written by the canary action (expected it to start ' +
        'with "canary."); was the action\'s Lambda function changed mid-run? Retry the stage.',
    );
  });

  test('a corrupt token says so', () => {
    expect(() => decodeCanaryToken('canary.!!!')).toThrow(
      'canary continuation token "canary.!!!" is corrupt (not base64url-encoded JSON). Retry the stage.',
    );
    const notState = `canary.${Buffer.from('{"v":1,"e":"x"}').toString('base64url')}`;
    expect(() => decodeCanaryToken(notState)).toThrow(
      /^canary continuation token is corrupt: expectedConfigName: Invalid input: expected string, received undefined; .*Retry the stage\.$/,
    );
  });

  test('a token of another version says the action was redeployed', () => {
    const v2 = `canary.${Buffer.from('{"v":2}').toString('base64url')}`;
    expect(() => decodeCanaryToken(v2)).toThrow(
      'canary continuation token has version 2, but this code reads version 1; the action was probably ' +
        'redeployed mid-run. Retry the stage.',
    );
  });

  test('an over-long token is rejected before it is parsed', () => {
    expect(() => decodeCanaryToken(`canary.${'A'.repeat(CONTINUATION_TOKEN_LIMIT)}`)).toThrow(
      'canary continuation token is 2055 characters, over the 2048 this action ever writes; it is corrupt. ' +
        'Retry the stage.',
    );
  });

  test('decoding arbitrary strings either succeeds or throws CanaryTokenError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `canary.${s}`),
        ),
        (token) => {
          try {
            decodeCanaryToken(token);
          } catch (error) {
            expect(error).toBeInstanceOf(CanaryTokenError);
          }
        },
      ),
    );
  });
});

describe('canaryGuardrails', () => {
  const alarms = ['m-5xx', 'm-latency', 'm-confidence'];
  const states = (alarming: string[]) =>
    alarms.map((name) => ({ name, state: alarming.includes(name) ? 'ALARM' : 'OK' }));

  it('guards with every alarm when none is in ALARM', () => {
    expect(canaryGuardrails(alarms, states([]), 'm-confidence')).toEqual({
      guard: alarms,
      leftOut: [],
      blocking: [],
    });
  });

  it('leaves out the confidence alarm in ALARM on the served version, and starts', () => {
    expect(canaryGuardrails(alarms, states(['m-confidence']), 'm-confidence')).toEqual({
      guard: ['m-5xx', 'm-latency'],
      leftOut: ['m-confidence'],
      blocking: [],
    });
  });

  it('blocks on any other alarm in ALARM (the candidate shares errors and latency)', () => {
    expect(canaryGuardrails(alarms, states(['m-5xx', 'm-confidence']), 'm-confidence')).toEqual({
      guard: ['m-5xx', 'm-latency'],
      leftOut: ['m-confidence'],
      blocking: ['m-5xx'],
    });
  });

  it('blocks on the confidence alarm when it is the only guardrail (SageMaker needs one)', () => {
    expect(
      canaryGuardrails(['m-confidence'], [{ name: 'm-confidence', state: 'ALARM' }], 'm-confidence'),
    ).toEqual({ guard: ['m-confidence'], leftOut: [], blocking: ['m-confidence'] });
  });
});

describe('deploymentAlarms', () => {
  const configured = ['m-5xx', 'm-latency', 'm-confidence'];

  it('reads the alarms the running deployment lists', () => {
    const describe = {
      LastDeploymentConfig: {
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'm-5xx' }, { AlarmName: 'm-latency' }] },
      },
    };
    expect(deploymentAlarms(describe, configured)).toEqual(['m-5xx', 'm-latency']);
  });

  it('falls back to every configured alarm when the description lists none', () => {
    expect(deploymentAlarms({}, configured)).toEqual(configured);
  });
});
