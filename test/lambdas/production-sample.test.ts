import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { dvcOutRemoteKey, parseDvcFile } from '../../lambdas/core/data/dvc';
import {
  createHandler,
  type Deps,
  type ProductionSampleResult,
  type StoredManifest,
} from '../../lambdas/production-sample';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings, type ReleaseSettings } from '../../lambdas/core/contracts/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const ARTIFACTS = 'mlops-artifacts';
const CAPTURE_BUCKET = 'mlops-data-capture';
const DVC_BUCKET = 'mlops-dvc-remote';
const LIVE = 'mlops-document-classifier-live';
const CAPTURE_ROOT = `${MODEL}/${LIVE}`;
/** Monday 04:00 UTC, when the default schedule runs; a 24-hour window starts Sunday 04:00. */
const NOW = new Date('2026-11-09T04:00:00.000Z');
const DAY = '2026-11-09';
const SAMPLE_FOLDER = `models/${MODEL}/production-samples/${DAY}`;
const SEED = 42;

/** A data capture line as SageMaker writes it for a JSON request and the container's JSON answer. */
function captureLine(
  eventId: string,
  time: string,
  text: string,
  label: string,
  encoding: 'JSON' | 'BASE64' = 'JSON',
): string {
  const input = JSON.stringify({ text });
  return JSON.stringify({
    captureData: {
      endpointInput: {
        observedContentType: 'application/json',
        mode: 'INPUT',
        data: encoding === 'JSON' ? input : Buffer.from(input).toString('base64'),
        encoding,
      },
      endpointOutput: {
        observedContentType: 'application/json',
        mode: 'OUTPUT',
        data: JSON.stringify({ label, confidence: 0.91 }),
        encoding: 'JSON',
      },
    },
    eventMetadata: { eventId, inferenceTime: time },
    eventVersion: '0',
  });
}

/** Every piece of personal data put into the capture below; none may appear in anything written. */
const PII = [
  'anna.schmidt@example.com',
  '4111 1111 1111 1111',
  '+44 20 7946 0958',
  'DE89 3704 0044 0532 0130 00',
  '203.0.113.42',
  'EMP-204817',
  'bob@example.org',
  '5555-5555-5555-4444',
  '0171 1234567',
  '2001:db8::7',
  'shadow-only@example.com',
  'late@example.com',
];

/** Capture files of the live endpoint (and one of the shadow variant, which is not sampled). */
const CAPTURE: Record<string, string[]> = {
  // Before the window (its hour is not even listed).
  'live/2026/11/08/02/10-00-000-old.jsonl': [
    captureLine('old-1', '2026-11-08T02:10:00Z', 'old request from anna.schmidt@example.com', 'refund'),
  ],
  // The window's first hour: a file that also holds a request from just before the window.
  'live/2026/11/08/04/00-00-000-a.jsonl': [
    captureLine('early-1', '2026-11-08T03:59:30Z', 'too early, late@example.com', 'refund'),
  ],
  'live/2026/11/08/04/05-00-000-b.jsonl': [
    captureLine('e01', '2026-11-08T04:05:01Z', 'Refund to DE89 3704 0044 0532 0130 00 please', 'refund'),
    captureLine('e02', '2026-11-08T04:05:02Z', 'My email is anna.schmidt@example.com', 'billing'),
    captureLine('e03', '2026-11-08T04:05:03Z', 'Card 4111 1111 1111 1111 charged twice', 'billing', 'BASE64'),
    'this line is not a capture record',
  ],
  'live/2026/11/08/17/30-00-000-c.jsonl': [
    captureLine('e04', '2026-11-08T17:30:04Z', 'Call me on +44 20 7946 0958', 'other'),
    captureLine(
      'e05',
      '2026-11-08T17:30:05Z',
      'Server 203.0.113.42 and 2001:db8::7 are blocked',
      'technical',
    ),
    captureLine('e06', '2026-11-08T17:30:06Z', 'I am EMP-204817, refund please', 'refund'),
  ],
  'live/2026/11/09/03/59-00-000-d.jsonl': [
    captureLine('e07', '2026-11-09T03:59:07Z', 'mail bob@example.org about the refund', 'refund'),
    captureLine('e08', '2026-11-09T03:59:08Z', 'card 5555-5555-5555-4444 and phone 0171 1234567', 'billing'),
    captureLine('e09', '2026-11-09T03:59:09Z', 'the export crashes', 'technical'),
    captureLine('e10', '2026-11-09T03:59:10Z', 'where is your office', 'other'),
  ],
  'shadow/2026/11/08/17/30-00-000-s.jsonl': [
    captureLine('e04', '2026-11-08T17:30:04Z', 'shadow copy, shadow-only@example.com', 'other'),
  ],
};

async function readObject(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString('utf8');
}

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

/** The message of the error the promise rejects with; fails the test if it resolves. */
async function failureOf(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.resolved)}`);
  return (outcome.error as Error).message;
}

describe('production sample handler', () => {
  const moto = useMoto();
  let s3: S3Client;
  let ssm: SSMClient;
  let deps: Deps;
  let parameters = 0;

  /** Release settings under a new parameter name (the function caches settings by name). */
  async function publishSettings(
    productionSample: Partial<ReleaseSettings['monitoring']['productionSample']> = {},
  ): Promise<void> {
    const config = shippedConfig();
    const settings = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    const edited: ReleaseSettings = {
      ...settings,
      monitoring: {
        ...settings.monitoring,
        productionSample: {
          ...settings.monitoring.productionSample,
          size: 6,
          windowHours: 24,
          piiPatterns: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }],
          ...productionSample,
        },
      },
    };
    parameters += 1;
    const name = `/mlops/${MODEL}/release-settings-${parameters}`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: JSON.stringify(edited) }));
    process.env.RELEASE_SETTINGS_PARAMETER = name;
  }

  async function putCapture(files: Record<string, string[]>): Promise<void> {
    for (const [key, lines] of Object.entries(files)) {
      await s3.send(
        new PutObjectCommand({
          Bucket: CAPTURE_BUCKET,
          Key: `${CAPTURE_ROOT}/${key}`,
          Body: `${lines.join('\n')}\n`,
        }),
      );
    }
  }

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    s3 = new S3Client(moto.clientConfig);
    ssm = new SSMClient(moto.clientConfig);
    deps = { s3, ssm, now: () => NOW, seed: () => SEED };
  });

  beforeEach(async () => {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      ARTIFACTS_BUCKET: ARTIFACTS,
      DATA_CAPTURE_S3_URI: `s3://${CAPTURE_BUCKET}/${MODEL}`,
      LIVE_ENDPOINT: LIVE,
      DVC_REMOTE_BUCKET: DVC_BUCKET,
      DVC_REMOTE_PREFIX: MODEL,
    });
    for (const bucket of [ARTIFACTS, CAPTURE_BUCKET, DVC_BUCKET]) {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      );
    }
    await publishSettings();
  });

  test('writes the scrubbed sample to the DVC remote by md5, the pin and the manifest; no personal data anywhere', async () => {
    await putCapture(CAPTURE);
    const logged: string[] = [];
    logger.setLogLevel('INFO');
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
      logged.push(String(chunk));
      return true;
    }) as typeof process.stdout.write);
    let result: ProductionSampleResult;
    try {
      result = await createHandler(deps)({ model: MODEL });
    } finally {
      write.mockRestore();
      logger.setLogLevel('SILENT');
    }

    // The JSONL: in the DVC remote under its own md5, DVC 3 layout.
    const dvcKeys = await listKeys(s3, DVC_BUCKET);
    expect(dvcKeys).toHaveLength(1);
    const match = /^document-classifier\/files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30})$/.exec(dvcKeys[0]!);
    expect(match).not.toBeNull();
    const jsonl = await readObject(s3, DVC_BUCKET, dvcKeys[0]!);
    const md5 = createHash('md5').update(Buffer.from(jsonl, 'utf8')).digest('hex');
    expect(`${match![1]}${match![2]}`).toBe(md5);

    const rows = jsonl
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['text', 'label', 'predicted_label', 'source', 'timestamp']);
      expect(row).toMatchObject({ label: null, source: 'production' });
    }
    // Stratified: 10 eligible records (refund 3, billing 3, technical 2, other 2) -> 6 rows.
    const perLabel = rows.reduce<Record<string, number>>(
      (acc, r) => ({ ...acc, [r.predicted_label]: (acc[r.predicted_label] ?? 0) + 1 }),
      {},
    );
    expect(perLabel).toEqual({ refund: 2, billing: 2, technical: 1, other: 1 });

    // The pin and the manifest, next to each other in the artifacts bucket.
    expect(await listKeys(s3, ARTIFACTS)).toEqual([
      `${SAMPLE_FOLDER}/manifest.json`,
      `${SAMPLE_FOLDER}/production_sample.jsonl.dvc`,
    ]);
    const pinText = await readObject(s3, ARTIFACTS, `${SAMPLE_FOLDER}/production_sample.jsonl.dvc`);
    expect(pinText).toBe(
      `outs:\n- md5: ${md5}\n  size: ${Buffer.byteLength(jsonl)}\n  hash: md5\n  path: production_sample.jsonl\n`,
    );
    const pin = parseDvcFile(pinText, 'data/eval/production_sample.jsonl.dvc');
    expect(dvcOutRemoteKey(pin.outs[0]!, MODEL)).toBe(dvcKeys[0]);

    const manifest = JSON.parse(
      await readObject(s3, ARTIFACTS, `${SAMPLE_FOLDER}/manifest.json`),
    ) as StoredManifest;
    const tokens = (token: string) => jsonl.split(token).length - 1;
    expect(manifest).toEqual({
      schemaVersion: 1,
      model: MODEL,
      createdAt: '2026-11-09T04:00:00.000Z',
      window: { from: '2026-11-08T04:00:00.000Z', to: '2026-11-09T04:00:00.000Z' },
      sampling: {
        method: expect.stringContaining('reservoir sampling per label with a seeded PRNG'),
        size: 6,
        seed: SEED,
        eligible: 10,
        skipped: { no_text: 0, no_predicted_label: 0, no_timestamp: 0, outside_window: 1 },
        perLabel: {
          billing: { available: 3, sampled: 2 },
          other: { available: 2, sampled: 1 },
          refund: { available: 3, sampled: 2 },
          technical: { available: 2, sampled: 1 },
        },
        note: null,
      },
      scrubbing: {
        counts: {
          email: tokens('[EMAIL]'),
          phone: tokens('[PHONE]'),
          card: tokens('[CARD]'),
          account: tokens('[ACCOUNT]'),
          ip: tokens('[IP]'),
          employee_id: tokens('[EMPLOYEE_ID]'),
        },
        patterns: ['employee_id'],
      },
      rows: 6,
      md5,
      size: Buffer.byteLength(jsonl),
      path: 'production_sample.jsonl',
      capture: {
        location: `s3://${CAPTURE_BUCKET}/${CAPTURE_ROOT}/live/`,
        endpoint: LIVE,
        variant: 'live',
        filesFound: 4,
        bytesFound: expect.any(Number),
        filesRead: 4,
        bytesRead: expect.any(Number),
        recordsRead: 12,
        unparseable: 1,
        unparseableExamples: [
          { file: `${CAPTURE_ROOT}/live/2026/11/08/04/05-00-000-b.jsonl`, line: 4, reason: 'not JSON' },
        ],
        limits: { maxFiles: 20_000, maxBytes: 256 * 2 ** 20 },
        capped: false,
        cappedNote: null,
      },
      storage: {
        dvcObject: `s3://${DVC_BUCKET}/${dvcKeys[0]}`,
        dvcPin: `s3://${ARTIFACTS}/${SAMPLE_FOLDER}/production_sample.jsonl.dvc`,
        commitAs: 'data/eval/production_sample.jsonl.dvc',
      },
    });
    expect(manifest.capture.bytesRead).toBe(manifest.capture.bytesFound);
    expect(Object.values(manifest.scrubbing.counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    expect(result).toEqual({
      model: MODEL,
      status: 'written',
      rows: 6,
      md5,
      dvcObject: `s3://${DVC_BUCKET}/${dvcKeys[0]}`,
      dvcPin: `s3://${ARTIFACTS}/${SAMPLE_FOLDER}/production_sample.jsonl.dvc`,
      manifest: `s3://${ARTIFACTS}/${SAMPLE_FOLDER}/manifest.json`,
      counts: manifest.scrubbing.counts,
      summary: expect.stringContaining(
        `Production sample of ${MODEL}: 6 rows from 2026-11-08T04:00:00.000Z to 2026-11-09T04:00:00.000Z (seed 42)\n` +
          'per predicted label (sampled/available): billing 2/3, other 1/2, refund 2/3, technical 1/2\n',
      ),
    });
    expect(result.summary).toContain(
      `pin: s3://${ARTIFACTS}/${SAMPLE_FOLDER}/production_sample.jsonl.dvc (commit it as data/eval/production_sample.jsonl.dvc and run \`dvc pull\` to get the rows to label)`,
    );

    // No raw personal data in any object written, in the logs, or in what the function returns.
    const written = [jsonl, pinText, JSON.stringify(manifest), JSON.stringify(result), logged.join('')];
    expect(logged.join('')).toContain('production sample written');
    for (const text of written) for (const value of PII) expect(text).not.toContain(value);
  });

  test('the same seed draws the same sample (the same DVC object); the event may set another seed', async () => {
    await putCapture(CAPTURE);
    const first = await createHandler(deps)({ model: MODEL });
    const again = await createHandler(deps)({ model: MODEL });
    expect(again.md5).toBe(first.md5);
    const seeds = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) seeds.add((await createHandler(deps)({ model: MODEL, seed })).md5!);
    expect(seeds.size).toBeGreaterThan(1);
    expect(await listKeys(s3, DVC_BUCKET)).toHaveLength(new Set([first.md5, ...seeds]).size);
  });

  test('a capped read takes files spread over the window and the manifest says so', async () => {
    await putCapture(CAPTURE);
    const result = await createHandler({ ...deps, limits: { maxFiles: 2, maxBytes: 2 ** 30 } })({
      model: MODEL,
    });
    const manifest = JSON.parse(
      await readObject(s3, ARTIFACTS, `${SAMPLE_FOLDER}/manifest.json`),
    ) as StoredManifest;
    expect(manifest.capture).toMatchObject({ filesFound: 4, filesRead: 2, capped: true });
    expect(manifest.capture.cappedNote).toMatch(
      /^read 2 of 4 capture files \(\d+(\.\d)? MiB of \d+(\.\d)? MiB\), spread evenly over the window, because of the 2-file limit: the sample is drawn from those$/,
    );
    // Every other file: the second and the fourth (3 + 4 requests), so both ends of the window are represented.
    expect(manifest.sampling.eligible).toBe(7);
    expect(result.summary).toContain(`note: ${manifest.capture.cappedNote}`);
  });

  test('no capture in the window: nothing is written and the result says what to check', async () => {
    await putCapture({
      'live/2026/11/08/02/10-00-000-old.jsonl': CAPTURE['live/2026/11/08/02/10-00-000-old.jsonl']!,
    });
    const result = await createHandler(deps)({ model: MODEL });
    expect(result).toMatchObject({ status: 'empty', rows: 0, md5: null, manifest: null });
    expect(result.summary).toBe(
      `Production sample of ${MODEL}: no captured request from 2026-11-08T04:00:00.000Z to 2026-11-09T04:00:00.000Z ` +
        `could be a row (0 capture files under s3://${CAPTURE_BUCKET}/${CAPTURE_ROOT}/live/, 0 records, 0 with a text ` +
        `and a predicted label): nothing was written. Check that the live endpoint ${LIVE} takes traffic and has data ` +
        'capture on, for input and output',
    );
    expect(await listKeys(s3, DVC_BUCKET)).toEqual([]);
    expect(await listKeys(s3, ARTIFACTS)).toEqual([]);
  });

  test('the pin names the file after the production-like eval set of the config', async () => {
    const config = shippedConfig();
    const settings = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    const evalSets = settings.evalSets.map((s) =>
      s.kind === 'production-like' ? { ...s, dvcFile: 'data/eval/prod_inputs.jsonl.dvc' } : s,
    );
    parameters += 1;
    const name = `/mlops/${MODEL}/release-settings-${parameters}`;
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: 'String',
        Value: JSON.stringify({ ...settings, evalSets }),
      }),
    );
    process.env.RELEASE_SETTINGS_PARAMETER = name;
    await putCapture(CAPTURE);
    await createHandler(deps)({ model: MODEL });
    const pinText = await readObject(s3, ARTIFACTS, `${SAMPLE_FOLDER}/production_sample.jsonl.dvc`);
    expect(pinText).toMatch(/\n {2}path: prod_inputs\.jsonl\n$/);
    const manifest = JSON.parse(
      await readObject(s3, ARTIFACTS, `${SAMPLE_FOLDER}/manifest.json`),
    ) as StoredManifest;
    expect(manifest.storage.commitAs).toBe('data/eval/prod_inputs.jsonl.dvc');
  });

  test('a DVC remote that cannot be written: the message says nothing was written', async () => {
    process.env.DVC_REMOTE_BUCKET = 'no-such-bucket';
    await putCapture(CAPTURE);
    const message = await failureOf(createHandler(deps)({ model: MODEL }));
    expect(message).toMatch(
      /^Production sample of document-classifier failed: cannot write the sample \(JSONL\) to s3:\/\/no-such-bucket\/document-classifier\/files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}: NoSuchBucket: .*; nothing was written\. Check that the bucket exists and the function's role may write that key and use the bucket's KMS key\. After fixing it, rerun/,
    );
    expect(await listKeys(s3, ARTIFACTS)).toEqual([]);
  });

  test('a capture bucket that cannot be listed: the message names the location', async () => {
    process.env.DATA_CAPTURE_S3_URI = `s3://no-such-capture-bucket/${MODEL}`;
    expect(await failureOf(createHandler(deps)({ model: MODEL }))).toMatch(
      /^Production sample of document-classifier failed: cannot list the data capture under s3:\/\/no-such-capture-bucket\/document-classifier\/mlops-document-classifier-live\/live\/: NoSuchBucket: .*; nothing was written\. Check the function's role \(s3:ListBucket on the data capture bucket for this model's prefix\)\./,
    );
  });

  test.each([
    [
      { model: 'other-model' },
      /the event names model "other-model" but this function samples "document-classifier"/,
    ],
    [
      { model: MODEL, seed: -1 },
      /the event \{"model":"document-classifier","seed":-1\} is not \{"model": "<model>", "seed": <0\.\.4294967295>\} \(seed optional\); fix the schedule's input/,
    ],
    [{ modle: MODEL }, /the event \{"modle":"document-classifier"\} is not/],
  ])('a wrong event %j fails with a message saying what to fix', async (event, message) => {
    expect(await failureOf(createHandler(deps)(event))).toMatch(message);
  });

  test('a missing environment key says to redeploy', async () => {
    delete process.env.LIVE_ENDPOINT;
    expect(await failureOf(createHandler(deps)({ model: MODEL }))).toBe(
      'Production sample of document-classifier failed: environment LIVE_ENDPOINT missing or invalid; the function ' +
        'was deployed without the production sample settings: redeploy the model stack.',
    );
  });
});
