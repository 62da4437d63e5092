import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { strToU8, zipSync } from 'fflate';
import { releaseSettings, type ReleaseSettings } from '../../lambdas/core/contracts/release-settings';
import { createHandler } from '../../lambdas/data-validation';
import { parseEvalSetFiles } from '../../lambdas/core/data/eval-set-files';
import { fetchEvalSetsCommand } from '../../lib/constructs/gpu-evaluation-project';
import type { DataValidationRecord } from '../../lambdas/data-validation/record';
import { logger } from '../../lambdas/shared/logger';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';
import { requireTool } from '../helpers/tools';

const DRIFT = JSON.parse(readFileSync(join(__dirname, '../fixtures/lambdas/drift.json'), 'utf8')) as {
  labelsPer100: Record<string, Record<string, number>>;
  jsDistance: Record<string, number>;
};

const JOB_ID = 'a1b2c3d4-job';
const EXECUTION_ID = 'exec-0001';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const PIPELINE_ARTIFACTS = 'pipeline-artifacts';
const REMOTE = 'dvc-remote';
const PREFIX = 'document-classifier';
const SOURCE_KEY = 'document-classifier-pr/SourceArti/source.zip';
const REPORT_KEY = `models/document-classifier/runs/${EXECUTION_ID}/data-validation.json`;
const REPORT_URL = `s3://${ARTIFACTS}/${REPORT_KEY}`;
const FILES_KEY = `models/document-classifier/runs/${EXECUTION_ID}/eval-set-files.tsv`;
const NOW = new Date('2026-11-05T09:30:00.000Z');

const md5 = (data: Uint8Array | string) => createHash('md5').update(data).digest('hex');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const v3Key = (hash: string) => `${PREFIX}/files/md5/${hash.slice(0, 2)}/${hash.slice(2)}`;

/** JSONL rows with the given label counts (per 100, repeated `times`); sources 50 % email, 30 % chat, 20 % upload. */
function jsonl(labelsPer100: Record<string, number>, times = 1): string {
  const labels = Object.entries(labelsPer100).flatMap(([label, n]) => Array<string>(n).fill(label));
  const rows: string[] = [];
  for (let t = 0; t < times; t++) {
    labels.forEach((label, i) => {
      const source = i % 10 < 5 ? 'email' : i % 10 < 8 ? 'chat' : 'upload';
      rows.push(
        JSON.stringify({ text: `ticket ${t}-${i}`, label, source, timestamp: '2026-10-01T12:00:00Z' }),
      );
    });
  }
  return `${rows.join('\n')}\n`;
}

function dvcFile(hash: string, size: number, path: string): string {
  return `outs:\n- md5: ${hash}\n  size: ${size}\n  hash: md5\n  path: ${path}\n`;
}

describe('data-validation handler', () => {
  const moto = useMoto();
  const codepipeline = mockClient(CodePipelineClient);
  let s3: S3Client;
  let handler: ReturnType<typeof createHandler>;
  let settings: ReleaseSettings;
  /** Files of the source artifact, by path. */
  let source: Record<string, string>;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.RELEASE_SETTINGS_PARAMETER = PARAMETER;
    process.env.ARTIFACTS_BUCKET = ARTIFACTS;
    process.env.DVC_REMOTE_BUCKET = REMOTE;
    process.env.DVC_REMOTE_PREFIX = PREFIX;
    const config = shippedConfig();
    settings = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === 'document-classifier')!,
    );
    s3 = new S3Client(moto.clientConfig);
    handler = createHandler({
      s3,
      ssm: new SSMClient(moto.clientConfig),
      codepipeline: new CodePipelineClient({ region: 'eu-west-1' }),
      now: () => NOW,
    });
  });

  beforeEach(async () => {
    codepipeline.reset();
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    codepipeline.on(PutJobFailureResultCommand).resolves({});
    const ssm = new SSMClient(moto.clientConfig);
    await ssm.send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    for (const bucket of [ARTIFACTS, PIPELINE_ARTIFACTS, REMOTE]) {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      );
    }
    // As the shared stack creates it: every push is a new version.
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: REMOTE, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    source = { 'README.md': '# model repo\n' };
  });

  async function putObject(
    bucket: string,
    key: string,
    body: string | Uint8Array,
  ): Promise<string | undefined> {
    return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId;
  }

  /** The eval-set file list the gate left for the evaluation build, or undefined when it left none. */
  async function readFileList() {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: FILES_KEY }));
      return parseEvalSetFiles(await res.Body!.transformToString());
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** Pushes `data` to the remote (unless `push` is false) and pins it at `pinPath` in the source artifact. */
  async function pin(pinPath: string, data: string, push = true): Promise<string> {
    const hash = md5(data);
    source[pinPath] = dvcFile(
      hash,
      Buffer.byteLength(data),
      pinPath
        .split('/')
        .pop()!
        .replace(/\.dvc$/, ''),
    );
    if (push) await putObject(REMOTE, v3Key(hash), data);
    return hash;
  }

  /** Pins all four datasets; golden_set's current data is `golden`. */
  async function pinAll(golden = jsonl(DRIFT.labelsPer100.golden_current, 2)) {
    await pin('data/eval/golden_set.jsonl.dvc', golden);
    await pin('data/reference/golden_set.jsonl.dvc', jsonl(DRIFT.labelsPer100.golden_reference, 3));
    await pin('data/eval/production_sample.jsonl.dvc', jsonl(DRIFT.labelsPer100.production_current, 2));
    await pin('data/reference/production_sample.jsonl.dvc', jsonl(DRIFT.labelsPer100.production_reference));
  }

  function jobEvent(overrides: { userParameters?: string; inputArtifacts?: unknown[] } = {}) {
    return {
      'CodePipeline.job': {
        id: JOB_ID,
        accountId: '123456789012',
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: 'mlops-document-classifier-data-validation',
              UserParameters:
                overrides.userParameters ??
                JSON.stringify({ executionId: EXECUTION_ID, pipeline: 'pr', commitId: 'c0ffee1' }),
            },
          },
          inputArtifacts: overrides.inputArtifacts ?? [
            {
              name: 'SourceArtifact',
              revision: 'c0ffee1',
              location: { type: 'S3', s3Location: { bucketName: PIPELINE_ARTIFACTS, objectKey: SOURCE_KEY } },
            },
          ],
          outputArtifacts: [],
          artifactCredentials: {
            accessKeyId: 'testing',
            secretAccessKey: 'testing',
            sessionToken: 'session',
          },
        },
      },
    };
  }

  /** Uploads the source artifact zip and invokes the handler. */
  async function run(event = jobEvent()) {
    const zip = zipSync(
      Object.fromEntries(Object.entries(source).map(([path, text]) => [path, strToU8(text)])),
    );
    await putObject(PIPELINE_ARTIFACTS, SOURCE_KEY, zip);
    return handler(event);
  }

  /** The one job-result call made, which must be a failure; returns its message. */
  function failureMessage(): string {
    expect(codepipeline.calls()).toHaveLength(1);
    const [call] = codepipeline.commandCalls(PutJobFailureResultCommand);
    expect(call.args[0].input.jobId).toBe(JOB_ID);
    expect(call.args[0].input.failureDetails?.type).toBe('JobFailed');
    return call.args[0].input.failureDetails!.message!;
  }

  async function readReport(): Promise<DataValidationRecord> {
    const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: REPORT_KEY }));
    return JSON.parse(await res.Body!.transformToString()) as DataValidationRecord;
  }

  test('valid eval sets within maxDrift: success with one line per eval set, and the full report in S3', async () => {
    await pinAll();

    await run();

    const golden = DRIFT.jsDistance.golden_current.toFixed(3);
    const production = DRIFT.jsDistance.production_current.toFixed(3);
    expect(codepipeline.calls()).toHaveLength(1);
    expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: [
          `golden_set: 200 rows valid, md5 verified; label drift ${golden} <= maxDrift 0.1 (label 'billing' 30% → 29%); source drift 0.000 <= maxDrift 0.1`,
          `production_sample: 200 rows valid, md5 verified; label drift ${production} <= maxDrift 0.15 (label 'billing' 25% → 24%); source drift 0.000 <= maxDrift 0.15`,
          `full report: ${REPORT_URL}`,
        ].join('\n'),
      },
    });

    const report = await readReport();
    expect(report).toMatchObject({
      version: 1,
      model: 'document-classifier',
      executionId: EXECUTION_ID,
      pipeline: 'pr',
      commitId: 'c0ffee1',
      generatedAt: NOW.toISOString(),
      verdict: 'pass',
      dvcRemote: `s3://${REMOTE}/${PREFIX}`,
    });
    expect(
      report.evalSets.map((set) => [set.evalSet, set.valid, set.dataset?.md5, set.reference?.totalRows]),
    ).toEqual([
      ['golden_set', true, md5(jsonl(DRIFT.labelsPer100.golden_current, 2)), 300],
      ['production_sample', true, md5(jsonl(DRIFT.labelsPer100.production_current, 2)), 100],
    ]);
    expect(report.drift.map((d) => [d.evalSet, d.field, d.passed])).toEqual([
      ['golden_set', 'label', true],
      ['golden_set', 'source', true],
      ['production_sample', 'label', true],
      ['production_sample', 'source', true],
    ]);
    expect(report.drift[0].jsDistance).toBeCloseTo(DRIFT.jsDistance.golden_current, 12);
    expect(report.drift[0].topMovers[0]).toEqual({
      value: 'billing',
      referenceShare: 0.3,
      currentShare: 0.29,
      delta: expect.closeTo(-0.01, 12),
    });

    // The evaluation build fetches exactly these object versions, checked by SHA-256.
    const golden1 = jsonl(DRIFT.labelsPer100.golden_current, 2);
    const list = await readFileList();
    expect(list?.map((f) => [f.path, f.key, f.bytes])).toEqual([
      ['data/eval/golden_set.jsonl', v3Key(md5(golden1)), Buffer.byteLength(golden1)],
      ['data/reference/golden_set.jsonl', expect.any(String), expect.any(Number)],
      ['data/eval/production_sample.jsonl', expect.any(String), expect.any(Number)],
      ['data/reference/production_sample.jsonl', expect.any(String), expect.any(Number)],
    ]);
    expect(list![0].sha256).toBe(sha256(golden1));
    expect(list!.every((f) => typeof f.versionId === 'string' && f.versionId.length > 0)).toBe(true);
  });

  test('a failed gate leaves no eval-set file list, so no evaluation can run on unverified data', async () => {
    await pinAll(jsonl({ billing: 100 }, 2));

    await run();

    expect(failureMessage()).toContain('golden_set: label drift');
    expect(await readFileList()).toBeUndefined();
  });

  test('label drift over maxDrift: failure naming the eval set, the distance and the top movers', async () => {
    await pinAll(jsonl(DRIFT.labelsPer100.golden_drifted, 2));

    await run();

    expect(failureMessage()).toBe(
      `golden_set: label drift ${DRIFT.jsDistance.golden_drifted.toFixed(3)} > maxDrift 0.1 ` +
        "(label 'refund' 8% → 21%, label 'billing' 30% → 22%, label 'technical' 30% → 27%); " +
        'significant (chi-square test p = 0.0016 < 0.01)\n' +
        `full report: ${REPORT_URL}`,
    );
    const report = await readReport();
    expect(report.verdict).toBe('fail');
    expect(report.evalSets.map((set) => set.valid)).toEqual([false, true]);
    expect(report.drift[0]).toMatchObject({
      evalSet: 'golden_set',
      field: 'label',
      passed: false,
      threshold: 0.1,
    });
  });

  test('schema violations: failure with the counts and the first line at fault', async () => {
    const rows = jsonl(DRIFT.labelsPer100.golden_current, 2).split('\n');
    rows[2] = JSON.stringify({ text: 'no source', label: 'billing', timestamp: '2026-10-01' });
    rows[6] = JSON.stringify({ text: 'odd', label: 'spam', source: 'email', timestamp: '2026-10-01' });
    await pinAll(rows.join('\n'));

    await run();

    expect(failureMessage()).toBe(
      'golden_set: 2 schema violations in 200 rows (missing_field 1, label_not_allowed 1), at most 0 allowed; ' +
        "first at line 3: missing required field 'source' (absent or null)\n" +
        `full report: ${REPORT_URL}`,
    );
    const report = await readReport();
    expect(report.evalSets[0].result?.violations.examples.map((e) => e.line)).toEqual([3, 7]);
  });

  test('an object in the remote that does not hash to its pin: failure naming dataset, object and both hashes', async () => {
    await pinAll();
    const pinned = md5(jsonl(DRIFT.labelsPer100.golden_reference, 3));
    const tampered = jsonl(DRIFT.labelsPer100.golden_drifted, 3);
    await putObject(REMOTE, v3Key(pinned), tampered);

    await run();

    expect(failureMessage()).toBe(
      `golden_set reference: content md5 ${md5(tampered)} does not match the pin ${pinned} in ` +
        `data/reference/golden_set.jsonl.dvc (read ${Buffer.byteLength(tampered)} bytes; the pin records ` +
        `${Buffer.byteLength(jsonl(DRIFT.labelsPer100.golden_reference, 3))}): the object in the DVC remote was ` +
        `changed or corrupted; re-push it with \`dvc push\` or fix the pin (object s3://${REMOTE}/${v3Key(pinned)})\n` +
        `full report: ${REPORT_URL}`,
    );
    const report = await readReport();
    expect(report.evalSets[0].result).toBeUndefined();
    expect(report.evalSets[1].valid).toBe(true);
  });

  test('an eval set without its .dvc pin: failure naming the eval set and the path', async () => {
    await pinAll();
    delete source['data/eval/production_sample.jsonl.dvc'];

    await run();

    expect(failureMessage()).toBe(
      'production_sample: no DVC pin found at data/eval/production_sample.jsonl.dvc; eval sets must be tracked ' +
        'with DVC so that every run reads the same bytes: run `dvc add data/eval/production_sample.jsonl`, ' +
        'commit data/eval/production_sample.jsonl.dvc and `dvc push` the data\n' +
        `full report: ${REPORT_URL}`,
    );
  });

  test('a pin whose data was never pushed: failure naming the object to push', async () => {
    await pinAll();
    const data = jsonl(DRIFT.labelsPer100.production_reference, 4);
    const hash = await pin('data/reference/production_sample.jsonl.dvc', data, false);

    await run();

    expect(failureMessage()).toBe(
      `production_sample reference: the data pinned in data/reference/production_sample.jsonl.dvc (md5 ${hash}) ` +
        `is not in the DVC remote: s3://${REMOTE}/${v3Key(hash)} does not exist; run \`dvc push\` from the commit ` +
        'that pinned it\n' +
        `full report: ${REPORT_URL}`,
    );
  });

  test('a DVC 2 pin (no hash key) is read from the legacy layout at the remote root', async () => {
    await pinAll();
    const data = jsonl(DRIFT.labelsPer100.production_current, 2).replace(/\n/g, '\r\n');
    // DVC 2 hashed text with CRLF turned into LF.
    const hash = md5(data.replace(/\r\n/g, '\n'));
    source['data/eval/production_sample.jsonl.dvc'] =
      `outs:\n- md5: ${hash}\n  path: production_sample.jsonl\n`;
    await putObject(REMOTE, `${PREFIX}/${hash.slice(0, 2)}/${hash.slice(2)}`, data);

    await run();

    expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(1);
    expect((await readReport()).evalSets[1].dataset).toMatchObject({
      md5: hash,
      remoteKey: `${PREFIX}/${hash.slice(0, 2)}/${hash.slice(2)}`,
    });
  });

  describe('a directory pin', () => {
    const missingSource = JSON.stringify({ text: 'no source', label: 'billing', timestamp: '2026-10-01' });
    let partA: string;
    let partB: string;

    beforeEach(() => {
      const a = jsonl(DRIFT.labelsPer100.golden_current).split('\n');
      a[1] = missingSource;
      partA = a.join('\n');
      const b = jsonl(DRIFT.labelsPer100.golden_current).split('\n');
      b[3] = missingSource;
      partB = b.join('\n');
    });

    /**
     * Pins golden_set as a directory holding `files` (listed in the manifest in the given order) and pushes
     * `pushed` (default: the same files) to the remote, as `dvc push` does.
     */
    async function pinDirectory(files: Record<string, string>, pushed = files): Promise<string> {
      const manifest = JSON.stringify(
        Object.entries(files).map(([relpath, data]) => ({ md5: md5(data), relpath })),
      );
      const dirHash = md5(manifest);
      await pinAll();
      source['data/eval/golden_set.jsonl.dvc'] =
        `outs:\n- md5: ${dirHash}.dir\n  size: 9999\n  nfiles: 3\n  hash: md5\n  path: golden_set\n`;
      await putObject(REMOTE, `${v3Key(dirHash)}.dir`, manifest);
      for (const [relpath, data] of Object.entries(pushed)) {
        await putObject(REMOTE, v3Key(md5(files[relpath])), data);
      }
      return dirHash;
    }

    test('scans its .jsonl files in relpath order, with line numbers counted per file', async () => {
      const dirHash = await pinDirectory({
        'parts/part-b.jsonl': partB,
        'parts/part-a.jsonl': partA,
        'README.md': 'notes\n',
      });

      await run();

      expect(failureMessage()).toBe(
        'golden_set: 2 schema violations in 200 rows (missing_field 2), at most 0 allowed; first at line 2: ' +
          "in parts/part-a.jsonl: missing required field 'source' (absent or null)\n" +
          `full report: ${REPORT_URL}`,
      );
      const report = await readReport();
      expect(report.evalSets[0].result?.violations.examples.map((e) => [e.line, e.message])).toEqual([
        [2, "in parts/part-a.jsonl: missing required field 'source' (absent or null)"],
        [4, "in parts/part-b.jsonl: missing required field 'source' (absent or null)"],
      ]);
      expect(report.evalSets[0].dataset).toEqual({
        dvcFile: 'data/eval/golden_set.jsonl.dvc',
        path: 'golden_set',
        md5: `${dirHash}.dir`,
        remoteKey: `${v3Key(dirHash)}.dir`,
        files: 2,
        bytes: Buffer.byteLength(partA) + Buffer.byteLength(partB),
      });
    });

    test('its other files are verified too and listed for the build, as `dvc pull` would fetch them', async () => {
      const partAValid = jsonl(DRIFT.labelsPer100.golden_current);
      await pinDirectory({ 'parts/part-a.jsonl': partAValid, 'labels.txt': 'billing\nsupport\n' });

      await run();

      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(1);
      expect((await readFileList())?.slice(0, 2)).toEqual([
        expect.objectContaining({
          path: 'data/eval/golden_set/labels.txt',
          sha256: sha256('billing\nsupport\n'),
        }),
        expect.objectContaining({
          path: 'data/eval/golden_set/parts/part-a.jsonl',
          sha256: sha256(partAValid),
        }),
      ]);
    });

    test('a non-JSONL file that does not hash to its manifest entry fails the eval set', async () => {
      const partAValid = jsonl(DRIFT.labelsPer100.golden_current);
      await pinDirectory(
        { 'parts/part-a.jsonl': partAValid, 'labels.txt': 'billing\n' },
        { 'parts/part-a.jsonl': partAValid, 'labels.txt': 'BILLING\n' },
      );

      await run();

      expect(failureMessage()).toContain(
        `golden_set (golden_set/labels.txt): content md5 ${md5('BILLING\n')} does not match the pin ${md5('billing\n')}`,
      );
    });

    test('a file that does not hash to its manifest entry fails the eval set', async () => {
      const tampered = partB.replace('ticket', 'TICKET');
      await pinDirectory(
        { 'parts/part-a.jsonl': partA, 'parts/part-b.jsonl': partB },
        { 'parts/part-a.jsonl': partA, 'parts/part-b.jsonl': tampered },
      );

      await run();

      expect(failureMessage()).toBe(
        `golden_set (golden_set/parts/part-b.jsonl): content md5 ${md5(tampered)} does not match the pin ` +
          `${md5(partB)} in data/eval/golden_set.jsonl.dvc: the object in the DVC remote was changed or ` +
          `corrupted; re-push it with \`dvc push\` or fix the pin (object s3://${REMOTE}/${v3Key(md5(partB))})\n` +
          `full report: ${REPORT_URL}`,
      );
    });

    test('files without rows: the message counts the lines of all of them', async () => {
      await pinDirectory({ 'a.jsonl': '\n', 'b.jsonl': '\n\n\n' });

      await run();

      expect(failureMessage()).toContain(
        'golden_set: the dataset has no rows (4 lines, 4 bytes); expected one JSON object per line.',
      );
    });

    test('no .jsonl file in the directory: failure saying eval sets are JSONL', async () => {
      await pinDirectory({ 'data.csv': 'text,label\n' });

      await run();

      expect(failureMessage()).toBe(
        `golden_set: the directory golden_set pinned in data/eval/golden_set.jsonl.dvc (md5 ${md5(
          JSON.stringify([{ md5: md5('text,label\n'), relpath: 'data.csv' }]),
        )}.dir) holds no .jsonl file; eval sets are JSONL: add the data as .jsonl files, \`dvc add\` and ` +
          `\`dvc push\` it\nfull report: ${REPORT_URL}`,
      );
    });
  });

  test('malformed UserParameters: failure saying which parameter is wrong', async () => {
    await pinAll();

    await run(jobEvent({ userParameters: '{"executionId": "exec-0001", "pipeline": "nightly"}' }));

    expect(failureMessage()).toBe(
      'JobInputError: UserParameters invalid: pipeline: Invalid option: expected one of "pr"|"release"; ' +
        'commitId: Invalid input: expected string, received undefined; fix the pipeline action',
    );
  });

  test('UserParameters that are not JSON: failure quoting them', async () => {
    await run(jobEvent({ userParameters: '#{codepipeline.PipelineExecutionId}' }));

    expect(failureMessage()).toBe(
      'JobInputError: UserParameters is not JSON (got "#{codepipeline.PipelineExecutionId}"); fix the pipeline action',
    );
  });

  test('no input artifact: failure saying the action needs the source artifact', async () => {
    await run(jobEvent({ inputArtifacts: [] }));

    expect(failureMessage()).toBe(
      "JobInputError: input artifact (any) is missing (got: none); fix the pipeline action's inputs",
    );
  });

  test('an input artifact that is not in the artifact store: failure naming the object', async () => {
    const event = jobEvent({
      inputArtifacts: [
        {
          name: 'SourceArtifact',
          location: { type: 'S3', s3Location: { bucketName: PIPELINE_ARTIFACTS, objectKey: 'gone.zip' } },
        },
      ],
    });

    await run(event);

    expect(failureMessage()).toBe(
      `JobInputError: cannot read input artifact SourceArtifact (s3://${PIPELINE_ARTIFACTS}/gone.zip): The specified key does not exist.`,
    );
  });
  describe('the evaluation build fetches what the gate verified (its buildspec step, in bash, with the AWS CLI against moto)', () => {
    let workdir: string;

    beforeAll(() => {
      requireTool(
        'aws',
        ['--version'],
        "the AWS CLI (pip install awscli, or AWS CLI v2); it runs the build's fetch step",
      );
    });
    beforeEach(() => {
      workdir = mkdtempSync(join(tmpdir(), 'eval-build-'));
    });
    afterEach(() => rmSync(workdir, { recursive: true, force: true }));

    /** Runs the buildspec's fetch step as CodeBuild would, in `workdir`. */
    function fetchStep() {
      const result = spawnSync('bash', ['-c', fetchEvalSetsCommand()], {
        cwd: workdir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          AWS_DEFAULT_REGION: 'eu-west-1',
          MODEL: 'document-classifier',
          ARTIFACTS_BUCKET: ARTIFACTS,
          DVC_REMOTE_BUCKET: REMOTE,
          PIPELINE_EXECUTION_ID: EXECUTION_ID,
        },
      });
      return { status: result.status, out: `${result.stdout}${result.stderr}` };
    }

    test('the verified version lands at its pinned path, even after a new version of the key is pushed', async () => {
      const golden = jsonl(DRIFT.labelsPer100.golden_current, 2);
      await pinAll(golden);
      await run();
      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(1);
      // After the gate: somebody pushes other bytes under the same content address.
      await putObject(REMOTE, v3Key(md5(golden)), 'swapped after the gate\n');

      const { status, out } = fetchStep();

      expect(out).toMatch(
        /^Fetched 4 eval-set file\(s\), \d+ bytes, each the version DataValidation verified/m,
      );
      expect(status).toBe(0);
      expect(readFileSync(join(workdir, 'data/eval/golden_set.jsonl'), 'utf8')).toBe(golden);
    });

    test('bytes that do not hash to the list stop the build, naming the file', async () => {
      await pinAll();
      await run();
      const text = (await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: FILES_KEY }))).Body!;
      const tampered = (await text.transformToString()).replace(/^[0-9a-f]{64}/m, '0'.repeat(64));
      await putObject(ARTIFACTS, FILES_KEY, tampered);

      const { status, out } = fetchStep();

      expect(status).toBe(1);
      expect(out).toContain(
        `data/eval/golden_set.jsonl is not the data DataValidation verified (sha256 ${'0'.repeat(64)}): retry the pipeline from DataValidation.`,
      );
    });

    test('a path that leaves the repository is refused before anything is written', async () => {
      const line = `${sha256('x')}\t1\t-\t${PREFIX}/files/md5/aa/bb\t../outside.jsonl\n`;
      await putObject(ARTIFACTS, FILES_KEY, line);

      const { status, out } = fetchStep();

      expect(status).toBe(1);
      expect(out).toContain('Refusing eval-set path ../outside.jsonl: it must stay inside the repository.');
    });

    test('no list (the gate did not pass for this run): the build stops and says where to retry', () => {
      const { status, out } = fetchStep();

      expect(status).toBe(1);
      expect(out).toContain(
        `Cannot read the eval-set file list s3://${ARTIFACTS}/${FILES_KEY} that the DataValidation stage writes when it passes: retry the pipeline from DataValidation.`,
      );
    });
  });
});
