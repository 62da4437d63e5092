import {
  canaryRecordSchema,
  modelArtifactRecordSchema,
  parseServingRecord,
  SERVING_RECORD_SCHEMA_VERSION,
  ServingRecordError,
  servingStateSchema,
  type CanaryRecord,
  type ModelArtifactRecord,
  type ServingState,
} from '../../lambdas/core/serving/serving-records';

const SHA = 'a'.repeat(64);
const ARTIFACT_URL = 's3://artifacts/models/document-classifier/runs/b59babff/model-artifact.json';
const CANARY_URL = 's3://artifacts/models/document-classifier/runs/b59babff/canary.json';
const STATE_URL = 's3://artifacts/models/document-classifier/serving/state.json';

const artifact: ModelArtifactRecord = {
  sha256: SHA,
  bytes: 123_456,
  modelDataUrl: 's3://artifacts/models/document-classifier/runs/b59babff/model.tar.gz',
  commitId: '4f1c2e9a',
};

const canary: CanaryRecord = {
  schemaVersion: SERVING_RECORD_SCHEMA_VERSION,
  model: 'document-classifier',
  executionId: 'b59babff-5f34-4ef6-8f26-6e21fc1e4e4c',
  modelVersion: '4f1c2e9a',
  endpointName: 'mlops-document-classifier-live',
  candidateModelName: 'mlops-document-classifier-b59babff',
  candidateConfigName: 'mlops-document-classifier-b59babff-live',
  previousConfigName: 'mlops-document-classifier-0a1b2c3d-live',
  outcome: 'live',
  detail: 'the candidate config is in service',
  alarmsSeen: [],
  startedAt: '2026-11-02T10:00:00Z',
  finishedAt: '2026-11-02T10:42:00+01:00',
};

const served = {
  endpointName: 'mlops-document-classifier-live',
  configName: 'mlops-document-classifier-b59babff-live',
  modelName: 'mlops-document-classifier-b59babff',
  modelVersion: '4f1c2e9a',
  executionId: 'b59babff-5f34-4ef6-8f26-6e21fc1e4e4c',
};

const state: ServingState = {
  schemaVersion: SERVING_RECORD_SCHEMA_VERSION,
  model: 'document-classifier',
  live: served,
  standby: {
    endpointName: 'mlops-document-classifier-standby',
    configName: 'mlops-document-classifier-0a1b2c3d-standby',
    modelName: 'mlops-document-classifier-0a1b2c3d',
    modelVersion: '9e8d7c6b',
    executionId: '0a1b2c3d-0000-4000-8000-000000000000',
    liveConfigName: 'mlops-document-classifier-0a1b2c3d-live',
  },
  updatedAt: '2026-11-02T10:45:00Z',
  updatedBy: 'promotion b59babff-5f34-4ef6-8f26-6e21fc1e4e4c',
};

const json = (value: unknown) => JSON.stringify(value);

/** The message a person sees for a record that does not parse. */
function failure(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ServingRecordError);
    expect((error as Error).name).toBe('ServingRecordError');
    return (error as Error).message;
  }
  throw new Error('expected the record to be refused, but it parsed');
}

describe('parseServingRecord', () => {
  test('text that is not JSON names the record and the parser’s reason', () => {
    expect(failure(() => parseServingRecord(modelArtifactRecordSchema, '{"sha256": ', ARTIFACT_URL))).toMatch(
      new RegExp(`^${ARTIFACT_URL.replaceAll('.', '\\.')} is not JSON \\(.+\\)$`),
    );
  });

  test('an empty object lists every missing field, each by its path', () => {
    expect(failure(() => parseServingRecord(modelArtifactRecordSchema, '{}', ARTIFACT_URL))).toBe(
      `${ARTIFACT_URL} is not a valid record: ` +
        'sha256: Invalid input: expected string, received undefined; ' +
        'bytes: Invalid input: expected number, received undefined; ' +
        'modelDataUrl: Invalid input: expected string, received undefined; ' +
        'commitId: Invalid input: expected string, received undefined',
    );
  });

  test('a problem with the whole record is named (root)', () => {
    expect(failure(() => parseServingRecord(canaryRecordSchema, '[]', CANARY_URL))).toBe(
      `${CANARY_URL} is not a valid record: (root): Invalid input: expected object, received array`,
    );
  });
});

describe('model artifact record', () => {
  test('a valid record parses', () => {
    expect(parseServingRecord(modelArtifactRecordSchema, json(artifact), ARTIFACT_URL)).toEqual(artifact);
  });

  test.each([
    ['an upper-case digest', SHA.toUpperCase()],
    ['a short digest', 'a'.repeat(63)],
    ['a digest with a non-hex digit', `${'a'.repeat(63)}g`],
  ])('%s is refused as a SHA-256 digest', (_, sha256) => {
    expect(
      failure(() =>
        parseServingRecord(modelArtifactRecordSchema, json({ ...artifact, sha256 }), ARTIFACT_URL),
      ),
    ).toBe(`${ARTIFACT_URL} is not a valid record: sha256: a SHA-256 digest: 64 lowercase hex digits`);
  });

  test.each([
    ['not in S3', 'https://example.com/model.tar.gz'],
    ['not a .tar.gz', 's3://artifacts/models/m/model.zip'],
    ['without a key', 's3://artifacts/'],
  ])('a model URL %s is refused', (_, modelDataUrl) => {
    expect(
      failure(() =>
        parseServingRecord(modelArtifactRecordSchema, json({ ...artifact, modelDataUrl }), ARTIFACT_URL),
      ),
    ).toBe(`${ARTIFACT_URL} is not a valid record: modelDataUrl: an s3:// URL of a .tar.gz archive`);
  });

  test('a blank commit and a size of 0 are both named', () => {
    expect(
      failure(() =>
        parseServingRecord(
          modelArtifactRecordSchema,
          json({ ...artifact, commitId: '  ', bytes: 0 }),
          ARTIFACT_URL,
        ),
      ),
    ).toBe(
      `${ARTIFACT_URL} is not a valid record: bytes: Too small: expected number to be >0; commitId: a non-empty string`,
    );
  });
});

describe('canary record', () => {
  test('a valid record parses, and a first release has no previous config', () => {
    expect(parseServingRecord(canaryRecordSchema, json(canary), CANARY_URL)).toEqual(canary);
    const first = { ...canary, previousConfigName: null };
    expect(parseServingRecord(canaryRecordSchema, json(first), CANARY_URL)).toEqual(first);
  });

  test.each([
    ['endpointName', '-starts-with-a-hyphen'],
    ['candidateModelName', 'ends-with-a-hyphen-'],
    ['candidateConfigName', 'has_underscore'],
    ['previousConfigName', 'x'.repeat(64)],
  ])('a bad SageMaker name in %s is refused with the rule', (key, value) => {
    expect(
      failure(() => parseServingRecord(canaryRecordSchema, json({ ...canary, [key]: value }), CANARY_URL)),
    ).toBe(
      `${CANARY_URL} is not a valid record: ${key}: a SageMaker name: 1-63 letters, digits and hyphens, not starting or ending with "-"`,
    );
  });

  test('the longest SageMaker name (63 characters) is accepted', () => {
    const record = { ...canary, candidateConfigName: `a${'-b'.repeat(31)}` };
    expect(record.candidateConfigName).toHaveLength(63);
    expect(parseServingRecord(canaryRecordSchema, json(record), CANARY_URL)).toEqual(record);
  });

  test('an unknown outcome, a time without zone and an unknown key are all named', () => {
    const bad = { ...canary, outcome: 'done', finishedAt: '2026-11-02T10:42:00', note: 'x' };
    expect(failure(() => parseServingRecord(canaryRecordSchema, json(bad), CANARY_URL))).toBe(
      `${CANARY_URL} is not a valid record: ` +
        'outcome: Invalid option: expected one of "live"|"rolled-back"|"failed"; ' +
        'finishedAt: an ISO 8601 date-time with a time zone; ' +
        '(root): Unrecognized key: "note"',
    );
  });

  test('a record of another schema version is refused', () => {
    expect(
      failure(() =>
        parseServingRecord(canaryRecordSchema, json({ ...canary, schemaVersion: 2 }), CANARY_URL),
      ),
    ).toBe(`${CANARY_URL} is not a valid record: schemaVersion: Invalid input: expected 1`);
  });

  test('an empty alarm name is named by its index', () => {
    expect(
      failure(() =>
        parseServingRecord(canaryRecordSchema, json({ ...canary, alarmsSeen: ['a', ''] }), CANARY_URL),
      ),
    ).toBe(`${CANARY_URL} is not a valid record: alarmsSeen.1: a non-empty string`);
  });
});

describe('serving state', () => {
  test('a valid state parses, with and without a standby', () => {
    expect(parseServingRecord(servingStateSchema, json(state), STATE_URL)).toEqual(state);
    const first = { ...state, standby: null };
    expect(parseServingRecord(servingStateSchema, json(first), STATE_URL)).toEqual(first);
  });

  test('a standby without the config a rollback puts back on the live endpoint is refused', () => {
    const { liveConfigName: _dropped, ...standby } = state.standby!;
    expect(
      failure(() => parseServingRecord(servingStateSchema, json({ ...state, standby }), STATE_URL)),
    ).toBe(
      `${STATE_URL} is not a valid record: standby.liveConfigName: Invalid input: expected string, received undefined`,
    );
  });

  test('nested problems are named by their full path', () => {
    const bad = {
      ...state,
      live: { ...served, modelName: 'bad name', executionId: '' },
      updatedBy: undefined,
    };
    expect(failure(() => parseServingRecord(servingStateSchema, json(bad), STATE_URL))).toBe(
      `${STATE_URL} is not a valid record: ` +
        'live.modelName: a SageMaker name: 1-63 letters, digits and hyphens, not starting or ending with "-"; ' +
        'live.executionId: a non-empty string; ' +
        'updatedBy: Invalid input: expected string, received undefined',
    );
  });

  test('a missing standby key is refused: null says "none yet", absence says the record is broken', () => {
    const { standby: _dropped, ...noStandby } = state;
    expect(failure(() => parseServingRecord(servingStateSchema, json(noStandby), STATE_URL))).toBe(
      `${STATE_URL} is not a valid record: standby: Invalid input: expected object, received undefined`,
    );
  });
});
