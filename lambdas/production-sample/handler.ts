/**
 * The production sample (EventBridge Scheduler, event `{"model": "...", "seed": 123}`, `seed`
 * optional): draws a production-like eval set from the live endpoint's data capture of the last
 * `monitoring.productionSample.windowHours`, stratified by predicted label, with personal data
 * scrubbed (core/data/production-sample.ts, core/data/pii.ts), and stores it the way DVC 3 would:
 *
 * - the JSONL in the DVC remote, content-addressed: `<DVC_REMOTE_PREFIX>/files/md5/<2 hex>/<30 hex>`;
 * - in the artifacts bucket, under `models/<model>/production-samples/<YYYY-MM-DD>/`: the `.dvc`
 *   pin to commit as the model's production-like eval set (`production_sample.jsonl.dvc`), and
 *   `manifest.json` (window, sampling, scrubbing counts, what was read), written last.
 *
 * Nothing with personal data is written anywhere else, logs included: they carry counts only.
 * Any failure throws (the scheduler retries, then keeps the event in its dead-letter queue), with a
 * message naming what failed, what was written, and how to rerun.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import * as path from 'node:path';
import { z } from 'zod';
import { LIVE_VARIANT } from '../core/serving/endpoint-spec';
import { dvcRemoteKey } from '../core/data/dvc';
import { createPiiScrubber, PiiPatternError, type PiiCounts, type PiiScrubber } from '../core/data/pii';
import {
  buildProductionSample,
  MAX_SEED,
  PRODUCTION_SAMPLE_FILE,
  ProductionSampler,
  type ProductionSampleManifest,
} from '../core/data/production-sample';
import { logger } from '../shared/logger';
import {
  parseScheduleEvent,
  rerunHint,
  scheduledHandler,
  type ScheduledHandler,
  type ScheduledJob,
} from '../shared/scheduled-job';
import {
  captureLocation,
  DEFAULT_READ_LIMITS,
  describeError,
  listCaptureFiles,
  readCaptureFiles,
  selectCaptureFiles,
  type CaptureReadLimits,
  type CaptureReadSummary,
} from './capture-files';
import { parseEnvironment } from '../shared/settings';

/** Everything external the handler touches; tests pass their own. */
export interface Deps {
  readonly s3: S3Client;
  readonly ssm: SSMClient;
  readonly now: () => Date;
  /** A seed for a run whose event has none. */
  readonly seed: () => number;
  /** @default DEFAULT_READ_LIMITS */
  readonly limits?: CaptureReadLimits;
}

/** Environment the model stack deploys the function with. */
export const productionSampleEnvSchema = z.object({
  RELEASE_SETTINGS_PARAMETER: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  /** The live endpoint config's `DataCaptureConfig.DestinationS3Uri` without the endpoint: `s3://<bucket>/<model>`. */
  DATA_CAPTURE_S3_URI: z.string().startsWith('s3://'),
  LIVE_ENDPOINT: z.string().min(1),
  DVC_REMOTE_BUCKET: z.string().min(1),
  /** Key prefix of the model's DVC remote in the bucket; the model name. */
  DVC_REMOTE_PREFIX: z.string().min(1),
});
export type ProductionSampleEnv = z.output<typeof productionSampleEnvSchema>;

export function productionSampleEnv(env: NodeJS.ProcessEnv = process.env): ProductionSampleEnv {
  return parseEnvironment(productionSampleEnvSchema, env, 'production sample');
}

const eventSchema = z.strictObject({
  model: z.string().min(1),
  seed: z.number().int().min(0).max(MAX_SEED).optional(),
});
const EVENT_SHAPE = `{"model": "<model>", "seed": <0..${MAX_SEED}>} (seed optional)`;

/** Keys of one run's files in the artifacts bucket. */
export const productionSampleKeys = {
  folder: (model: string, day: string) => `models/${model}/production-samples/${day}/`,
  manifest: (model: string, day: string) => `models/${model}/production-samples/${day}/manifest.json`,
  dvcPin: (model: string, day: string) =>
    `models/${model}/production-samples/${day}/${PRODUCTION_SAMPLE_FILE}.dvc`,
} as const;

/** The stored manifest: the core's, plus what was read and where the files are. */
export interface StoredManifest extends ProductionSampleManifest {
  readonly capture: CaptureReadSummary & { readonly endpoint: string; readonly variant: string };
  readonly storage: {
    /** The JSONL, in the DVC remote. */
    readonly dvcObject: string;
    /** The `.dvc` pin, next to this manifest. */
    readonly dvcPin: string;
    /** Where the pin goes in the model repository: the production-like eval set's `dvcFile`. */
    readonly commitAs: string | null;
  };
}

export interface ProductionSampleResult {
  readonly model: string;
  /** `empty`: no captured request in the window could be a row; nothing was written. */
  readonly status: 'written' | 'empty';
  readonly rows: number;
  readonly md5: string | null;
  readonly dvcObject: string | null;
  readonly dvcPin: string | null;
  readonly manifest: string | null;
  readonly counts: PiiCounts;
  readonly summary: string;
}

const productionSampleJob: ScheduledJob<z.output<typeof eventSchema>, ProductionSampleEnv> = {
  name: 'Production sample',
  verb: 'samples',
  parseEvent: (event) => parseScheduleEvent(event, eventSchema, EVENT_SHAPE),
  env: productionSampleEnv,
  rerun: ({ model }) => rerunHint({ model }),
};

export function createHandler(deps: Deps): ScheduledHandler<ProductionSampleResult> {
  return scheduledHandler(productionSampleJob, deps, async ({ model, event, env, settings, label }) => {
    const config = settings.monitoring.productionSample;
    const scrubber = compileScrubber(config.piiPatterns, model);
    const seed = event.seed ?? deps.seed();

    const now = deps.now();
    const toMs = now.getTime();
    const fromMs = toMs - config.windowHours * 3_600_000;
    const limits = deps.limits ?? DEFAULT_READ_LIMITS;
    const where = captureLocation(env.DATA_CAPTURE_S3_URI, env.LIVE_ENDPOINT, LIVE_VARIANT);
    const location = `s3://${where.bucket}/${where.variantPrefix}`;

    let found;
    try {
      found = await listCaptureFiles(deps.s3, {
        bucket: where.bucket,
        root: where.root,
        variant: LIVE_VARIANT,
        startMs: fromMs,
        endMs: toMs,
      });
    } catch (error) {
      throw new Error(
        `cannot list the data capture under ${location}: ${describeError(error)}; nothing was written. Check the ` +
          "function's role (s3:ListBucket on the data capture bucket for this model's prefix)",
        { cause: error },
      );
    }
    const selection = selectCaptureFiles(found, limits);
    const sampler = new ProductionSampler({ size: config.size, seed, window: { fromMs, toMs } });
    const read = await readCaptureFiles(
      deps.s3,
      {
        bucket: where.bucket,
        location,
        files: selection.selected,
        filesFound: found,
        variant: LIVE_VARIANT,
        limits,
        capped: selection.capped,
        cappedReason: selection.reason,
      },
      (record) => sampler.add(record),
    );
    const drawn = sampler.finish();
    const readLog = {
      filesFound: read.filesFound,
      filesRead: read.filesRead,
      bytesRead: read.bytesRead,
      recordsRead: read.recordsRead,
      unparseable: read.unparseable,
      eligible: drawn.eligible,
      skipped: drawn.skipped,
      capped: read.capped,
    };

    if (drawn.records.length === 0) {
      const summary =
        `${label}: no captured request from ${new Date(fromMs).toISOString()} to ${now.toISOString()} could be a ` +
        `row (${read.filesFound} capture files under ${location}, ${read.recordsRead} records, ` +
        `${drawn.eligible} with a text and a predicted label): nothing was written. Check that the live endpoint ` +
        `${env.LIVE_ENDPOINT} takes traffic and has data capture on, for input and output`;
      logger.warn('production sample empty: nothing written', readLog);
      return {
        model,
        status: 'empty',
        rows: 0,
        md5: null,
        dvcObject: null,
        dvcPin: null,
        manifest: null,
        counts: Object.fromEntries(scrubber.kinds.map((k) => [k, 0])),
        summary,
      };
    }

    const evalSet = settings.evalSets.find((s) => s.kind === 'production-like');
    const files = buildProductionSample(drawn, scrubber, {
      model,
      createdAt: now.toISOString(),
      window: { fromMs, toMs },
      size: config.size,
      seed,
      patterns: config.piiPatterns.map((p) => p.name),
      path: evalSet ? path.posix.basename(evalSet.dvcFile, '.dvc') : PRODUCTION_SAMPLE_FILE,
    });

    const day = now.toISOString().slice(0, 10);
    const dvcKey = dvcRemoteKey(files.md5, { layout: 'v3', prefix: env.DVC_REMOTE_PREFIX });
    const dvcObject = `s3://${env.DVC_REMOTE_BUCKET}/${dvcKey}`;
    const pinKey = productionSampleKeys.dvcPin(model, day);
    const manifestKey = productionSampleKeys.manifest(model, day);
    const dvcPin = `s3://${env.ARTIFACTS_BUCKET}/${pinKey}`;
    const manifestUri = `s3://${env.ARTIFACTS_BUCKET}/${manifestKey}`;
    const manifest: StoredManifest = {
      ...files.manifest,
      capture: { ...read, endpoint: env.LIVE_ENDPOINT, variant: LIVE_VARIANT },
      storage: { dvcObject, dvcPin, commitAs: evalSet?.dvcFile ?? null },
    };

    await put(
      deps.s3,
      env.DVC_REMOTE_BUCKET,
      dvcKey,
      files.jsonl,
      'application/x-ndjson',
      'sample (JSONL)',
      [],
    );
    await put(deps.s3, env.ARTIFACTS_BUCKET, pinKey, files.dvcPin, 'text/plain', '.dvc pin', [dvcObject]);
    await put(
      deps.s3,
      env.ARTIFACTS_BUCKET,
      manifestKey,
      `${JSON.stringify(manifest, null, 2)}\n`,
      'application/json',
      'manifest',
      [dvcObject, dvcPin],
    );

    logger.info('production sample written', {
      ...readLog,
      rows: manifest.rows,
      perLabel: drawn.perLabel,
      scrubbed: manifest.scrubbing.counts,
      md5: files.md5,
      dvcObject,
      manifest: manifestUri,
    });
    return {
      model,
      status: 'written',
      rows: manifest.rows,
      md5: files.md5,
      dvcObject,
      dvcPin,
      manifest: manifestUri,
      counts: manifest.scrubbing.counts,
      summary: summarise(label, manifest, manifestUri, evalSet?.dvcFile),
    };
  });
}

function compileScrubber(patterns: readonly { name: string; pattern: string }[], model: string): PiiScrubber {
  try {
    return createPiiScrubber(patterns);
  } catch (error) {
    if (!(error instanceof PiiPatternError)) throw error;
    throw new Error(
      `${error.message} (model ${model}); nothing was read or written. Run \`mlops validate-config\` and ` +
        '`mlops scrub-pii --model` on a sample locally, then redeploy the model stack',
      { cause: error },
    );
  }
}

/** Writes one object; the SDK's default checksum stays on (the artifacts bucket has Object Lock). */
async function put(
  s3: S3Client,
  bucket: string,
  key: string,
  body: string,
  contentType: string,
  what: string,
  alreadyWritten: readonly string[],
): Promise<void> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  } catch (error) {
    const state =
      alreadyWritten.length === 0
        ? 'nothing was written'
        : `${alreadyWritten.join(' and ')} ${alreadyWritten.length === 1 ? 'was' : 'were'} written already (harmless: a rerun writes the same content-addressed object again)`;
    throw new Error(
      `cannot write the ${what} to s3://${bucket}/${key}: ${describeError(error)}; ${state}. Check that the bucket ` +
        "exists and the function's role may write that key and use the bucket's KMS key",
      { cause: error },
    );
  }
}

function summarise(
  label: string,
  manifest: StoredManifest,
  manifestUri: string,
  commitAs: string | undefined,
): string {
  const scrubbed = Object.entries(manifest.scrubbing.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  const labels = Object.entries(manifest.sampling.perLabel).map(
    ([l, c]) => `${l} ${c.sampled}/${c.available}`,
  );
  return [
    `${label}: ${manifest.rows} rows from ${manifest.window.from} to ${manifest.window.to} (seed ${manifest.sampling.seed})`,
    `per predicted label (sampled/available): ${labels.join(', ')}`,
    `personal data replaced: ${scrubbed.length ? scrubbed.join(', ') : 'none found'}`,
    ...(manifest.sampling.note ? [`note: ${manifest.sampling.note}`] : []),
    ...(manifest.capture.cappedNote ? [`note: ${manifest.capture.cappedNote}`] : []),
    `data: ${manifest.storage.dvcObject}`,
    `pin: ${manifest.storage.dvcPin}${commitAs ? ` (commit it as ${commitAs} and run \`dvc pull\` to get the rows to label)` : ''}`,
    `manifest: ${manifestUri}`,
  ].join('\n');
}
