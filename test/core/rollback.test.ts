import fc from 'fast-check';
import { flagDocumentSchema, type FlagDocument } from '../../lambdas/core/routing/flags';
import {
  buildRefusalRecord,
  buildRollbackRecord,
  deploymentToStop,
  flagCorrection,
  flagServesEveryone,
  liveEndpointStep,
  MAX_PAGE_SUBJECT,
  pageSubject,
  planRollback,
  readRollbackEvent,
  rollbackClaimKey,
  rollbackFlagDocument,
  rollbackPage,
  rollbackRecordSchema,
  rollbackStatus,
  rolledBackServingState,
  settleStep,
  standbyReadiness,
  unreadableEventPage,
  type DeploymentStop,
  type EndpointOutcome,
  type FlagOutcome,
  type RollbackRecordInput,
  type RollbackTrigger,
} from '../../lambdas/core/serving/rollback';
import { servingStateSchema, type ServingState } from '../../lambdas/core/serving/serving-records';

const MODEL = 'document-classifier';
const LIVE = 'mlops-document-classifier-live';
const STANDBY = 'mlops-document-classifier-standby';
const N = '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483';
const N1 = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const RECEIVED = new Date('2026-11-05T10:00:00.000Z');
const STATE_URL = 's3://mlops-artifacts/models/document-classifier/serving/state.json';

const state: ServingState = {
  schemaVersion: 1,
  model: MODEL,
  live: {
    endpointName: LIVE,
    configName: 'mlops-document-classifier-2b3c4d5e-live',
    modelName: 'mlops-document-classifier-2b3c4d5e',
    modelVersion: N,
    executionId: '2b3c4d5e-0000-4000-8000-000000000002',
  },
  standby: {
    endpointName: STANDBY,
    configName: 'mlops-document-classifier-1a2b3c4d-standby',
    modelName: 'mlops-document-classifier-1a2b3c4d',
    modelVersion: N1,
    executionId: '1a2b3c4d-0000-4000-8000-000000000001',
    liveConfigName: 'mlops-document-classifier-1a2b3c4d-live',
  },
  updatedAt: '2026-11-04T12:00:00.000Z',
  updatedBy: 'promotion',
};

const alarmEvent = (value: string, timestamp = '2026-11-05T09:59:18.000+0000') => ({
  source: 'aws.cloudwatch',
  alarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:mlops-document-classifier-confidence',
  accountId: '123456789012',
  time: '2026-11-05T09:59:18.000+0000',
  region: 'eu-west-1',
  alarmData: {
    alarmName: 'mlops-document-classifier-confidence',
    state: {
      value,
      reason: 'Threshold Crossed: 5 out of the last 5 datapoints were less than 0.71',
      timestamp,
    },
    previousState: {
      value: value === 'ALARM' ? 'OK' : 'ALARM',
      reason: '',
      timestamp: '2026-11-05T09:00:00.000+0000',
    },
    configuration: { metrics: [] },
  },
});

const alarmTrigger: RollbackTrigger = {
  kind: 'alarm',
  by: 'alarm mlops-document-classifier-confidence',
  alarmName: 'mlops-document-classifier-confidence',
  reason: 'Threshold Crossed: 5 out of the last 5 datapoints were less than 0.71',
  triggeredAt: '2026-11-05T09:59:18.000Z',
};

const currentFlag: FlagDocument = {
  schemaVersion: 1,
  model: MODEL,
  experiment: 'document-classifier-2026-11',
  stable: { modelVersion: N, endpoint: 'live' },
  candidate: { modelVersion: '4f1c2e9a', endpoint: 'live', percent: 12.5 },
  killSwitch: true,
  updatedBy: 'release-pipeline b59babff',
  updatedAt: '2026-11-04T12:00:00Z',
};

describe('readRollbackEvent', () => {
  it('GIVEN an alarm action changing to ALARM THEN it rolls back, timed from the alarm state change', () => {
    expect(readRollbackEvent(alarmEvent('ALARM'), MODEL, RECEIVED)).toEqual({
      action: 'roll-back',
      trigger: alarmTrigger,
    });
  });

  it('GIVEN an alarm action changing to OK or INSUFFICIENT_DATA THEN it is ignored, saying why', () => {
    expect(readRollbackEvent(alarmEvent('OK'), MODEL, RECEIVED)).toEqual({
      action: 'ignore',
      message:
        'alarm mlops-document-classifier-confidence changed to OK (was ALARM); a rollback runs only on a change to ALARM: nothing done',
    });
    expect(readRollbackEvent(alarmEvent('INSUFFICIENT_DATA'), MODEL, RECEIVED).action).toBe('ignore');
  });

  it('GIVEN an alarm whose timestamp does not parse THEN the time starts at the receipt of the event', () => {
    const request = readRollbackEvent(alarmEvent('ALARM', 'yesterday'), MODEL, RECEIVED);
    expect(request).toMatchObject({ action: 'roll-back', trigger: { triggeredAt: RECEIVED.toISOString() } });
  });

  it('GIVEN the alarm through SNS THEN it reads the notification in the message', () => {
    const event = {
      Records: [
        {
          EventSource: 'aws:sns',
          Sns: {
            Subject: 'ALARM: "mlops-document-classifier-confidence"',
            Message: JSON.stringify({
              AlarmName: 'mlops-document-classifier-confidence',
              NewStateValue: 'ALARM',
              OldStateValue: 'OK',
              NewStateReason: alarmTrigger.reason,
              StateChangeTime: '2026-11-05T09:59:18.000+0000',
            }),
          },
        },
      ],
    };
    expect(readRollbackEvent(event, MODEL, RECEIVED)).toEqual({ action: 'roll-back', trigger: alarmTrigger });
  });

  it('GIVEN a manual event THEN it rolls back for the person named, timed from receipt', () => {
    const event = { model: MODEL, reason: ' confidence collapsed on invoices ', requestedBy: 'Jane Doe' };
    expect(readRollbackEvent(event, MODEL, RECEIVED)).toEqual({
      action: 'roll-back',
      trigger: {
        kind: 'manual',
        by: 'Jane Doe',
        alarmName: null,
        reason: 'confidence collapsed on invoices',
        triggeredAt: RECEIVED.toISOString(),
      },
    });
    const anonymous = readRollbackEvent({ model: MODEL, reason: 'bad' }, MODEL, RECEIVED);
    expect(anonymous).toMatchObject({
      trigger: { by: 'a person (manual invocation without requestedBy)' },
    });
  });

  it('GIVEN a manual event for another model THEN it is rejected, naming both models', () => {
    expect(readRollbackEvent({ model: 'fraud-scorer', reason: 'bad' }, MODEL, RECEIVED)).toEqual({
      action: 'reject',
      message:
        'Rollback not started: this function rolls back model "document-classifier", but the event asks for ' +
        '"fraud-scorer". Nothing was changed. To roll back "fraud-scorer", invoke that model\'s rollback function; ' +
        'to roll back "document-classifier", send "model": "document-classifier".',
    });
  });

  it('GIVEN a manual event without a reason or with a misspelt key THEN it is rejected with the expected shape', () => {
    expect(readRollbackEvent({ model: MODEL, reason: '  ' }, MODEL, RECEIVED)).toEqual({
      action: 'reject',
      message:
        'Rollback not started: the event is not a manual rollback ("reason": why you roll back (it goes into the ' +
        'record and the page)). Nothing was changed. Invoke the function with {"model": "document-classifier", ' +
        '"reason": "<why>", "requestedBy": "<your name>"}.',
    });
    const typo = readRollbackEvent({ model: MODEL, reason: 'bad', requestedby: 'jd' }, MODEL, RECEIVED);
    expect(typo).toMatchObject({ action: 'reject' });
    expect((typo as { message: string }).message).toContain('unknown key(s) "requestedby"');
  });

  it('GIVEN anything else THEN it is unreadable, and never throws', () => {
    expect(readRollbackEvent({ detail: {} }, MODEL, RECEIVED)).toEqual({
      action: 'unreadable',
      message:
        'the event (keys detail) is neither a CloudWatch alarm action, an SNS alarm notification nor a manual ' +
        'rollback ({"model": "document-classifier", "reason": "<why>", "requestedBy": "<your name>"})',
    });
    expect(readRollbackEvent(null, MODEL, RECEIVED)).toEqual({
      action: 'unreadable',
      message: 'the event is null, not a JSON object',
    });
    fc.assert(
      fc.property(fc.anything(), (event) => {
        const request = readRollbackEvent(event, MODEL, RECEIVED);
        expect(['roll-back', 'ignore', 'reject', 'unreadable']).toContain(request.action);
      }),
    );
  });
});

describe('planRollback', () => {
  it('GIVEN a standby THEN it rolls back from live to standby', () => {
    expect(planRollback(state, STATE_URL)).toEqual({
      kind: 'roll-back',
      from: state.live,
      to: state.standby,
      bridge: 'standby',
    });
  });

  it('GIVEN no serving state or no standby THEN there is nothing to return to, and it says why', () => {
    expect(planRollback(null, STATE_URL)).toEqual({
      kind: 'nothing-to-return-to',
      live: null,
      why: `there is no serving state (${STATE_URL}): the model has never been promoted`,
    });
    expect(planRollback({ ...state, standby: null }, STATE_URL)).toEqual({
      kind: 'nothing-to-return-to',
      live: state.live,
      why:
        `the serving state (${STATE_URL}) has no standby model: ${N} is the only released version (the standby ` +
        'exists from the second release on), or a rollback has already used it',
    });
  });

  it('keys the claim by the release rolled back from, so a re-release of the same commit can roll back again', () => {
    expect(rollbackClaimKey(state.live)).toBe(`from#${N}#2b3c4d5e-0000-4000-8000-000000000002`);
    expect(rollbackClaimKey({ ...state.live, executionId: 'another' })).not.toBe(
      rollbackClaimKey(state.live),
    );
  });
});

describe('rollbackFlagDocument', () => {
  const at = new Date('2026-11-05T10:00:01.500Z');

  it('sends everyone to N-1 on the standby endpoint and keeps the experiment', () => {
    const doc = rollbackFlagDocument({
      current: currentFlag,
      model: MODEL,
      toVersion: N1,
      by: 'alarm mlops-document-classifier-confidence',
      at,
      fallbackExperiment: 'configured-experiment',
    });
    expect(doc).toEqual({
      schemaVersion: 1,
      model: MODEL,
      experiment: 'document-classifier-2026-11',
      stable: { modelVersion: N1, endpoint: 'standby' },
      candidate: null,
      killSwitch: false,
      updatedBy: 'rollback: alarm mlops-document-classifier-confidence',
      updatedAt: '2026-11-05T10:00:01.500Z',
    });
    expect(flagServesEveryone(doc, N1)).toBe(true);
  });

  it('GIVEN no current flag THEN it uses the configured experiment', () => {
    const doc = rollbackFlagDocument({
      current: null,
      model: MODEL,
      toVersion: N1,
      by: 'Jane Doe',
      at,
      fallbackExperiment: 'configured-experiment',
    });
    expect(doc.experiment).toBe('configured-experiment');
  });

  it('always writes a document the router accepts that serves N-1 to everyone', () => {
    const version = fc.stringMatching(/^\S{1,40}$/);
    fc.assert(
      fc.property(
        version,
        version,
        fc.boolean(),
        fc.integer({ min: 0, max: 10_000 }),
        (stable, to, kill, p) => {
          const current: FlagDocument = {
            ...currentFlag,
            stable: { modelVersion: stable, endpoint: 'live' },
            candidate: stable === to ? null : { modelVersion: to, endpoint: 'live', percent: p / 100 },
            killSwitch: kill,
          };
          const doc = rollbackFlagDocument({
            current,
            model: MODEL,
            toVersion: to,
            by: 'x',
            at,
            fallbackExperiment: 'configured-experiment',
          });
          expect(flagDocumentSchema.safeParse(doc).success).toBe(true);
          expect(flagServesEveryone(doc, to)).toBe(true);
        },
      ),
    );
  });

  it('flagServesEveryone is false while a candidate takes users or the version or endpoint differ', () => {
    const onStandby: FlagDocument = { ...currentFlag, stable: { modelVersion: N1, endpoint: 'standby' } };
    expect(flagServesEveryone({ ...onStandby, killSwitch: false }, N1)).toBe(false);
    expect(flagServesEveryone({ ...onStandby, killSwitch: true }, N1)).toBe(true);
    expect(flagServesEveryone({ ...onStandby, candidate: null, killSwitch: false }, N)).toBe(false);
    expect(
      flagServesEveryone(
        { ...onStandby, stable: { modelVersion: N1, endpoint: 'live' }, candidate: null },
        N1,
      ),
    ).toBe(false);
  });
});

describe('rolledBackServingState', () => {
  it('puts N-1 live on its live config and leaves nothing on standby', () => {
    const next = rolledBackServingState(MODEL, state.standby!, LIVE, new Date('2026-11-05T10:00:05.000Z'));
    expect(next).toEqual({
      schemaVersion: 1,
      model: MODEL,
      live: {
        endpointName: LIVE,
        configName: 'mlops-document-classifier-1a2b3c4d-live',
        modelName: 'mlops-document-classifier-1a2b3c4d',
        modelVersion: N1,
        executionId: '1a2b3c4d-0000-4000-8000-000000000001',
      },
      standby: null,
      updatedAt: '2026-11-05T10:00:05.000Z',
      updatedBy: 'rollback',
    });
    expect(servingStateSchema.parse(next)).toEqual(next);
    expect(planRollback(next, STATE_URL).kind).toBe('nothing-to-return-to');
  });
});

describe('liveEndpointStep', () => {
  const target = 'mlops-document-classifier-1a2b3c4d-live';
  it.each(['Creating', 'Updating', 'SystemUpdating', 'RollingBack'])(
    'waits while the endpoint is %s',
    (status) => {
      expect(liveEndpointStep({ status, configName: 'x' }, LIVE, target)).toEqual({ action: 'wait', status });
    },
  );

  it.each(['InService', 'OutOfService', 'UpdateRollbackFailed'])(
    'updates an endpoint that is %s',
    (status) => {
      expect(liveEndpointStep({ status, configName: 'other' }, LIVE, target)).toEqual({ action: 'update' });
    },
  );

  it('does nothing when the N-1 config already serves', () => {
    expect(liveEndpointStep({ status: 'InService', configName: target }, LIVE, target)).toEqual({
      action: 'already',
    });
  });

  it('cannot update a missing, deleting or Failed endpoint, and says why', () => {
    expect(liveEndpointStep(undefined, LIVE, target)).toEqual({
      action: 'cannot',
      why: `the live endpoint "${LIVE}" does not exist`,
    });
    expect(liveEndpointStep({ status: 'Deleting', configName: 'x' }, LIVE, target).action).toBe('cannot');
    expect(
      liveEndpointStep(
        { status: 'Failed', configName: 'x', failureReason: 'image pull failed' },
        LIVE,
        target,
      ),
    ).toEqual({
      action: 'cannot',
      why: `the live endpoint "${LIVE}" is Failed (FailureReason: image pull failed) and a Failed endpoint cannot take an update`,
    });
  });
});

describe('standbyReadiness', () => {
  const standby = state.standby!;
  it('is ready when the standby serves the N-1 config, or when its status cannot be read', () => {
    expect(
      standbyReadiness({ status: 'InService', configName: standby.configName }, standby, STANDBY),
    ).toEqual({
      ready: true,
    });
    expect(standbyReadiness('unknown', standby, STANDBY)).toEqual({ ready: true });
  });

  it("is not ready when missing, not serving, on another config, or not the router's standby endpoint", () => {
    expect(standbyReadiness(undefined, standby, STANDBY)).toEqual({
      ready: false,
      why: `the standby endpoint "${STANDBY}" does not exist`,
    });
    expect(
      standbyReadiness({ status: 'Updating', configName: standby.configName }, standby, STANDBY),
    ).toEqual({
      ready: false,
      why:
        `the standby endpoint "${STANDBY}" is Updating, not InService (a release's canary may be refreshing it with ` +
        `the model that serves now: when the update ends it no longer holds ${N1})`,
    });
    expect(standbyReadiness({ status: 'InService', configName: 'other' }, standby, STANDBY)).toEqual({
      ready: false,
      why: `the standby endpoint "${STANDBY}" serves config "other", not "${standby.configName}" (${N1}) as the serving state says`,
    });
    expect(standbyReadiness('unknown', standby, 'elsewhere')).toEqual({
      ready: false,
      why: `the serving state has ${N1} on endpoint "${STANDBY}", but the router sends "standby" traffic to "elsewhere"`,
    });
  });
});

describe('rollbackStatus', () => {
  const deployed: FlagOutcome = {
    outcome: 'deployed',
    versionNumber: 8,
    deploymentNumber: 5,
    stoppedDeployments: [],
    at: RECEIVED,
  };
  const failedFlag: FlagOutcome = { outcome: 'failed', detail: 'x' };
  const started: EndpointOutcome = { outcome: 'update-started', at: RECEIVED, waitedSeconds: 0 };
  const pending: EndpointOutcome = { outcome: 'pending', status: 'Updating', waitedSeconds: 60 };
  const failedEndpoint: EndpointOutcome = { outcome: 'failed', detail: 'x' };

  const already = { outcome: 'already', versionNumber: 8 } as FlagOutcome;
  const skipped = { outcome: 'skipped', detail: 'x' } as FlagOutcome;
  it.each([
    ['flag deployed, endpoint update started', 'done', deployed, started],
    ['both already done', 'done', already, { outcome: 'already' } as EndpointOutcome],
    ['flag deployed, endpoint busy', 'endpoint-pending', deployed, pending],
    ['flag deployed, endpoint failed', 'incomplete', deployed, failedEndpoint],
    ['flag failed, endpoint update started', 'incomplete', failedFlag, started],
    ['flag skipped, endpoint update started', 'incomplete', skipped, started],
    ['flag failed, endpoint busy', 'failed', failedFlag, pending],
    ['flag failed, endpoint failed', 'failed', failedFlag, failedEndpoint],
  ])('%s: %s', (_case, status, flag, endpoint) => {
    expect(rollbackStatus(flag as FlagOutcome, endpoint as EndpointOutcome)).toBe(status);
  });
});

describe('deploymentToStop: a person rolls back the candidate a canary is deploying', () => {
  const STOP = 'mlops-document-classifier-live-rollback-requested';
  const CANDIDATE = 'mlops-document-classifier-3c4d5e6f-live';
  const canary = { status: 'Updating', pendingConfigName: CANDIDATE, autoRollbackAlarms: ['x-5xx', STOP] };

  it("stops a canary's deployment of a config the serving state does not name, which lists the alarm", () => {
    expect(deploymentToStop(canary, state, STOP)).toEqual({ candidateConfig: CANDIDATE });
  });

  it.each([
    ['not Updating (RollingBack: SageMaker stops it already)', { ...canary, status: 'RollingBack' }],
    ['InService (the deployment ended)', { ...canary, status: 'InService', pendingConfigName: undefined }],
    ['no pending deployment', { ...canary, pendingConfigName: undefined }],
    [
      "a shadow's or rollback's own update (no auto-rollback alarms)",
      { ...canary, pendingConfigName: 'mlops-document-classifier-3c4d5e6f-shadow', autoRollbackAlarms: [] },
    ],
    ['a canary started before the alarm existed', { ...canary, autoRollbackAlarms: ['x-5xx'] }],
    ["an update to the serving state's live config", { ...canary, pendingConfigName: state.live.configName }],
    [
      'an update back to the rollback target',
      { ...canary, pendingConfigName: state.standby!.liveConfigName },
    ],
  ])('leaves the usual rollback when %s', (_case, seen) => {
    expect(deploymentToStop(seen, state, STOP)).toBeUndefined();
  });

  it('does nothing without a serving state or an endpoint', () => {
    expect(deploymentToStop(canary, null, STOP)).toBeUndefined();
    expect(deploymentToStop(undefined, state, STOP)).toBeUndefined();
  });

  it('a stop is done once the endpoint is back, pending while SageMaker rolls back, else FAILED whatever the flag', () => {
    const stop = (rollingBackSeen: boolean): DeploymentStop => ({
      candidateConfig: CANDIDATE,
      alarmName: STOP,
      requests: 3,
      rollingBackSeen,
      lastProblem: null,
    });
    const already = { outcome: 'already', versionNumber: 2 } as FlagOutcome;
    const pending: EndpointOutcome = { outcome: 'pending', status: 'Updating', waitedSeconds: 870 };
    expect(rollbackStatus(already, { outcome: 'already' }, stop(true))).toBe('done');
    expect(
      rollbackStatus(already, { outcome: 'update-started', at: RECEIVED, waitedSeconds: 60 }, stop(false)),
    ).toBe('done');
    expect(rollbackStatus(already, { ...pending, status: 'RollingBack' }, stop(true))).toBe(
      'endpoint-pending',
    );
    // The flag "already" names the version returned to: it is no effect of this rollback.
    expect(rollbackStatus(already, pending, stop(false))).toBe('failed');
    expect(rollbackStatus(already, { outcome: 'failed', detail: 'x' }, stop(true))).toBe('failed');
  });
});

describe('buildRollbackRecord and rollbackPage', () => {
  const flagDocument = rollbackFlagDocument({
    current: currentFlag,
    model: MODEL,
    toVersion: N1,
    by: alarmTrigger.by,
    at: new Date('2026-11-05T10:00:01.500Z'),
    fallbackExperiment: 'configured-experiment',
  });
  const base: RollbackRecordInput = {
    model: MODEL,
    trigger: alarmTrigger,
    from: state.live,
    to: state.standby!,
    liveEndpoint: LIVE,
    claim: 'claimed',
    flagLabel: 'AppConfig flag app1/env1/prof1',
    flagDocument,
    flag: {
      outcome: 'deployed',
      versionNumber: 8,
      deploymentNumber: 5,
      stoppedDeployments: [4],
      at: new Date('2026-11-05T10:00:01.500Z'),
    },
    endpoint: { outcome: 'update-started', at: new Date('2026-11-05T10:00:02.000Z'), waitedSeconds: 0 },
    servingState: { outcome: 'written', detail: 'written' },
    startedAt: RECEIVED,
    finishedAt: new Date('2026-11-05T10:00:03.250Z'),
  };

  it('GIVEN a done rollback THEN the record has the times, durations and what to check', () => {
    const record = buildRollbackRecord(base);
    expect(rollbackRecordSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({
      status: 'done',
      from: { modelVersion: N, configName: 'mlops-document-classifier-2b3c4d5e-live' },
      to: {
        modelVersion: N1,
        liveConfigName: 'mlops-document-classifier-1a2b3c4d-live',
        standbyEndpoint: STANDBY,
      },
      flag: {
        outcome: 'deployed',
        detail: `version 8 (everyone on ${N1} at "${STANDBY}") deployed as deployment 5; deployment(s) 4 in progress were stopped to make way`,
        versionNumber: 8,
        deploymentNumber: 5,
        stoppedDeployments: [4],
      },
      endpoint: {
        outcome: 'update-started',
        name: LIVE,
        detail:
          'UpdateEndpoint to config "mlops-document-classifier-1a2b3c4d-live" accepted; the update takes several minutes',
      },
      startedAt: '2026-11-05T10:00:00.000Z',
      flagDeployedAt: '2026-11-05T10:00:01.500Z',
      endpointUpdateStartedAt: '2026-11-05T10:00:02.000Z',
      durations: { triggerToFlagSeconds: 43.5, triggerToEndpointUpdateSeconds: 44, handlerSeconds: 3.25 },
    });
    expect(record.summary).toBe(
      `Rolled back ${MODEL} from ${N} to ${N1} (alarm mlops-document-classifier-confidence: ${alarmTrigger.reason}). ` +
        `The router sends everyone to ${N1} on the warm standby endpoint "${STANDBY}" (routers pick the flag up ` +
        `within their cache period), and the live endpoint "${LIVE}" is updating to ${N1}'s config ` +
        '"mlops-document-classifier-1a2b3c4d-live"; once it is in service, the router goes back to it.',
    );
    expect(record.nextSteps[0]).toBe(
      'Check that the live endpoint reaches InService on config "mlops-document-classifier-1a2b3c4d-live": aws ' +
        `sagemaker describe-endpoint --endpoint-name ${LIVE}. If it ends Failed or on another config, run: aws ` +
        `sagemaker update-endpoint --endpoint-name ${LIVE} --endpoint-config-name mlops-document-classifier-1a2b3c4d-live --retain-all-variant-properties.`,
    );
  });

  it('GIVEN the flag failed but the endpoint updates THEN the page says users still get N until it finishes', () => {
    const record = buildRollbackRecord({
      ...base,
      flag: {
        outcome: 'failed',
        detail: 'cannot read the AppConfig flag app1/env1/prof1: TimeoutError: timed out',
      },
    });
    expect(record.status).toBe('incomplete');
    expect(record.flagDeployedAt).toBeNull();
    expect(record.durations.triggerToFlagSeconds).toBeNull();
    expect(record.summary).toContain(
      `the flag was not changed (cannot read the AppConfig flag app1/env1/prof1: TimeoutError: timed out), so ` +
        `users of the router STILL GET ${N} until the live endpoint "${LIVE}" finishes updating`,
    );
    expect(record.nextSteps[0]).toMatch(
      /^Deploy the flag by hand: in AppConfig flag app1\/env1\/prof1, create/,
    );
    const page = rollbackPage(record);
    expect(page.subject).toBe('Rollback INCOMPLETE: document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6');
    expect(page.body.startsWith(`${record.summary}\n\nWhat to do:\n1. Deploy the flag by hand`)).toBe(true);
    expect(JSON.parse(page.body.slice(page.body.indexOf('Record:\n') + 8))).toEqual(record);
  });

  it('GIVEN the endpoint stayed busy THEN the page asks for the update by hand', () => {
    const record = buildRollbackRecord({
      ...base,
      endpoint: { outcome: 'pending', status: 'Updating', waitedSeconds: 870 },
    });
    expect(record.status).toBe('endpoint-pending');
    expect(record.endpoint?.detail).toBe('still Updating after 870 s of waiting; not updated');
    expect(record.nextSteps[0]).toBe(
      `Once the live endpoint is InService, put ${N1}'s config back on it: aws sagemaker update-endpoint ` +
        `--endpoint-name ${LIVE} --endpoint-config-name mlops-document-classifier-1a2b3c4d-live --retain-all-variant-properties (docs/serving.md, "By hand").`,
    );
    expect(rollbackPage(record, ['The rollback record was not written: denied.']).body).toContain(
      'Also:\n- The rollback record was not written: denied.\n\nWhat to do:\n1. Once the live endpoint',
    );
  });

  it('GIVEN nothing took effect THEN the record says failed and that it may be retried', () => {
    const record = buildRollbackRecord({
      ...base,
      flag: { outcome: 'failed', detail: 'AppConfig down' },
      endpoint: { outcome: 'failed', detail: 'AccessDeniedException: no' },
    });
    expect(record.status).toBe('failed');
    expect(record.summary).toContain(
      `FAILED (alarm mlops-document-classifier-confidence: ${alarmTrigger.reason}): nothing changed, users still get ${N}.`,
    );
    expect(record.nextSteps[2]).toContain('a failed rollback may be retried');
  });

  it('GIVEN a refusal THEN the record says nothing changed and what to do', () => {
    const plan = planRollback({ ...state, standby: null }, STATE_URL);
    if (plan.kind !== 'nothing-to-return-to') throw new Error('expected a refusal');
    const record = buildRefusalRecord({
      model: MODEL,
      trigger: alarmTrigger,
      plan,
      liveEndpoint: LIVE,
      startedAt: RECEIVED,
      finishedAt: RECEIVED,
    });
    expect(rollbackRecordSchema.parse(record)).toEqual(record);
    expect(record.summary).toBe(
      `Rollback of ${MODEL} refused (alarm mlops-document-classifier-confidence: ${alarmTrigger.reason}): no ` +
        `previous version to return to: ${plan.why}. Nothing was changed: users still get ${N} (config ` +
        `"mlops-document-classifier-2b3c4d5e-live" on "${LIVE}").`,
    );
    expect(rollbackPage(record).subject).toBe(
      'Rollback REFUSED: document-classifier no previous version of 3f2a9c1d0e8b',
    );
  });

  it('the unreadable-event page tells how to roll back by hand', () => {
    const page = unreadableEventPage(MODEL, 'the event is null, not a JSON object', null);
    expect(page.subject).toBe('Rollback NOT RUN: document-classifier: unreadable event');
    expect(page.body).toContain(
      '1. If an alarm fired, roll back by hand: invoke the function with {"model": "document-classifier", "reason": "<why>", "requestedBy": "<your name>"}.',
    );
  });
});

describe('pageSubject', () => {
  it('is one line of printable ASCII, shorter than SNS allows', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const subject = pageSubject(text);
        expect(subject.length).toBeLessThanOrEqual(MAX_PAGE_SUBJECT);
        expect(subject).toMatch(/^[\x20-\x7e]*$/);
      }),
    );
    expect(pageSubject(`Rollback done: ${'m'.repeat(120)}`)).toBe(`Rollback done: ${'m'.repeat(81)}...`);
  });
});

describe('settleStep and flagCorrection (issue 11, item 3: settle reconciles the flag with state.json)', () => {
  const at = new Date('2026-11-05T10:09:00.000Z');
  const inService = { status: 'InService', configName: state.live.configName };
  const flagNaming = (version: string, endpoint: 'live' | 'standby' = 'live'): FlagDocument => ({
    ...currentFlag,
    stable: { modelVersion: version, endpoint },
    candidate: null,
    killSwitch: false,
  });

  it('GIVEN the endpoint and state.json agree on N and the flag names N-1 THEN the flag is wrong, and it is corrected to N on the live endpoint', () => {
    const step = settleStep(state, inService, flagNaming(N1));
    expect(step).toEqual({
      action: 'settle',
      moveFlag: false,
      version: N,
      wrongFlag: { version: N1, endpoint: 'live' },
    });
    const correction = flagCorrection({
      current: flagNaming(N1),
      version: N,
      rolledBackTo: false,
      rollbackAway: null,
      at,
    });
    expect(correction).toMatchObject({
      action: 'correct',
      document: {
        stable: { modelVersion: N, endpoint: 'live' },
        candidate: null,
        killSwitch: false,
        experiment: currentFlag.experiment,
        updatedAt: '2026-11-05T10:09:00.000Z',
      },
    });
    if (correction.action !== 'correct') throw new Error('expected a correction');
    expect(flagDocumentSchema.parse(correction.document)).toEqual(correction.document);
    expect(correction.summary).toBe(
      `the flag names ${N1} on the live endpoint, but the live endpoint and state.json serve ${N}: users were ` +
        `routed, and their predictions labelled, under the wrong version; the flag now names ${N} on the live endpoint`,
    );
  });

  it('GIVEN the flag names the served version (on either endpoint), or there is no flag THEN nothing is wrong', () => {
    expect(settleStep(state, inService, flagNaming(N))).toMatchObject({ moveFlag: false, wrongFlag: null });
    expect(settleStep(state, inService, flagNaming(N, 'standby'))).toMatchObject({
      moveFlag: true,
      wrongFlag: null,
    });
    expect(settleStep(state, inService, null)).toMatchObject({ moveFlag: false, wrongFlag: null });
  });

  it("GIVEN the endpoint is not in service on the serving state's config (a release, a shadow, a rollback updating it) THEN nothing is judged", () => {
    for (const seen of [
      { status: 'Updating', configName: state.live.configName },
      { status: 'InService', configName: 'mlops-document-classifier-9f8e7d6c-live' },
      undefined,
    ]) {
      expect(settleStep(state, seen, flagNaming(N1)).action).toBe('ignore');
    }
  });

  it("GIVEN a person's A/B candidate and kill switch THEN both are kept; a candidate naming the served version is dropped (the schema forbids it beside an equal stable)", () => {
    const withExperiment: FlagDocument = {
      ...flagNaming(N1, 'standby'),
      candidate: { modelVersion: '4f1c2e9a', endpoint: 'live', percent: 12.5 },
      killSwitch: true,
    };
    const kept = flagCorrection({
      current: withExperiment,
      version: N,
      rolledBackTo: false,
      rollbackAway: null,
      at,
    });
    expect(kept).toMatchObject({
      action: 'correct',
      document: {
        stable: { modelVersion: N, endpoint: 'live' },
        candidate: { modelVersion: '4f1c2e9a', endpoint: 'live', percent: 12.5 },
        killSwitch: true,
      },
      summary: expect.stringMatching(/\(candidate 4f1c2e9a kept, kill switch kept on\)$/),
    });
    const candidateIsServed: FlagDocument = {
      ...withExperiment,
      candidate: { modelVersion: N, endpoint: 'live', percent: 50 },
    };
    const dropped = flagCorrection({
      current: candidateIsServed,
      version: N,
      rolledBackTo: false,
      rollbackAway: null,
      at,
    });
    if (dropped.action !== 'correct') throw new Error('expected a correction');
    expect(dropped.document.candidate).toBeNull();
    expect(dropped.summary).toMatch(new RegExp(`candidate ${N} dropped \\(it is now stable\\)`));
    expect(flagDocumentSchema.parse(dropped.document)).toEqual(dropped.document);
  });

  it('GIVEN the ledger records a rollback that returned to the served version THEN its flag is finished as it would have written it: no candidate, kill switch off', () => {
    const left: FlagDocument = {
      ...flagNaming(N1),
      candidate: { modelVersion: '4f1c2e9a', endpoint: 'live', percent: 12.5 },
      killSwitch: true,
    };
    const c = flagCorrection({ current: left, version: N, rollbackAway: null, rolledBackTo: true, at });
    expect(c).toMatchObject({
      action: 'correct',
      document: { stable: { modelVersion: N, endpoint: 'live' }, candidate: null, killSwitch: false },
      summary: expect.stringMatching(
        new RegExp(`\\(as the rollback to ${N} would have written it: no candidate, kill switch off\\)$`),
      ),
    });
  });

  it('GIVEN a rollback away from the served version is recorded (in progress, done or incomplete) THEN the flag is left to it: a rollback moves the flag before the endpoint and state.json follow', () => {
    for (const status of ['started', 'done', 'incomplete', 'endpoint-pending']) {
      const left = flagCorrection({
        current: flagNaming(N1, 'standby'),
        version: N,
        rolledBackTo: false,
        rollbackAway: { status },
        at,
      });
      expect(left).toEqual({
        action: 'leave',
        why: expect.stringContaining(`a rollback away from ${N} is recorded (status "${status}")`),
      });
    }
    // A failed rollback changed nothing: the flag is not its, and is corrected.
    expect(
      flagCorrection({
        current: flagNaming(N1),
        version: N,
        rolledBackTo: false,
        rollbackAway: { status: 'failed' },
        at,
      }).action,
    ).toBe('correct');
  });

  it('GIVEN the ledger cannot be read THEN the flag is left, and the reason says so', () => {
    expect(
      flagCorrection({
        current: flagNaming(N1, 'standby'),
        version: N,
        rolledBackTo: false,
        rollbackAway: 'unknown',
        at,
      }),
    ).toEqual({ action: 'leave', why: expect.stringContaining('the rollback ledger cannot be read') });
  });

  it('every flag it writes parses, names the served version on the live endpoint and keeps the experiment', () => {
    const version = fc.constantFrom(N, N1, '4f1c2e9a', 'b7c8d9e0');
    fc.assert(
      fc.property(
        version,
        version,
        fc.option(
          fc.record({
            modelVersion: version,
            endpoint: fc.constantFrom('live', 'standby'),
            percent: fc.constantFrom(0, 12.5, 100),
          }),
        ),
        fc.boolean(),
        (served, named, candidate, killSwitch) => {
          const current = flagDocumentSchema.safeParse({
            ...flagNaming(named),
            candidate,
            killSwitch,
          });
          fc.pre(current.success && named !== served);
          const c = flagCorrection({
            current: current.data!,
            version: served,
            rolledBackTo: false,
            rollbackAway: null,
            at,
          });
          if (c.action !== 'correct') return false;
          expect(flagDocumentSchema.parse(c.document)).toEqual(c.document);
          expect(c.document.stable).toEqual({ modelVersion: served, endpoint: 'live' });
          expect(c.document.experiment).toBe(currentFlag.experiment);
          expect(c.document.killSwitch).toBe(killSwitch);
          return true;
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});
