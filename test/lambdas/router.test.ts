import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  AppConfigDataClient,
  GetLatestConfigurationCommand,
  InternalServerException,
  StartConfigurationSessionCommand,
  type GetLatestConfigurationCommandOutput,
} from '@aws-sdk/client-appconfigdata';
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { InvokeEndpointCommandInput } from '@aws-sdk/client-sagemaker-runtime';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { assign, bucketOf } from '../../lambdas/core/routing/assignment';
import type { FlagDocument } from '../../lambdas/core/routing/flags';
import {
  inputHmac,
  parsePredictionRecordLine,
  type PredictionRecord,
} from '../../lambdas/core/routing/prediction-record';
import { routerDeps } from '../../lambdas/router/deps';
import { redactInput, routerSageMakerRuntime } from '../../lambdas/router/endpoint';
import {
  routerEnv,
  routerEnvSchema,
  type RouterEnv,
  type RouterEnvInput,
} from '../../lambdas/core/contracts/router-env';
import type { Clock, RouterLogger } from '../../lambdas/router/flag';
import {
  createHandler,
  createStreamingHandler,
  type BufferedHandler,
  type StreamingHandler,
  type StreamingRuntime,
} from '../../lambdas/router/handler';
import { routerMetrics } from '../../lambdas/router/metrics';
import { route, type RouterDeps } from '../../lambdas/router/route';
import { assignmentSalt, assignUser } from '../../lambdas/router/split';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const LIVE = 'document-classifier-live';
const STANDBY = 'document-classifier-standby';
const STREAM = 'document-classifier-predictions';
const BUCKET = 'prediction-logs';
const QUEUE = 'document-classifier-prediction-fallback';
const STABLE = '9e8d7c6b1a2b3c4d5e6f70819293a4b5c6d7e8f9';
const CANDIDATE = '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0';
const N_MINUS_1 = '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';
const HMAC_KEY = 'router-test-hmac-key-7Hq2mZ9vX4pL8sN1cR6tY3wB';
const FLAG_LABEL = 'AppConfig flag ml-platform/prod/document-classifier-flag';
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
/** What the fake clock moves on each endpoint call: the latency the records and metrics must show. */
const ENDPOINT_MS = 42;
const INPUT = { text: 'Invoice 2026-117 from ACME GmbH, total 4,200.00 EUR' };
const OTHER_INPUT = { text: 'Receipt 88 from a coffee shop' };

function flagDoc(overrides: Partial<FlagDocument> = {}): FlagDocument {
  return {
    schemaVersion: 1,
    model: MODEL,
    experiment: 'ab',
    stable: { modelVersion: STABLE, endpoint: 'live' },
    candidate: { modelVersion: CANDIDATE, endpoint: 'live', percent: 50 },
    killSwitch: false,
    updatedBy: 'release-pipeline b59babff',
    updatedAt: '2026-11-27T09:00:00Z',
    ...overrides,
  };
}

function envInput(overrides: Partial<RouterEnvInput> = {}): RouterEnvInput {
  return {
    MODEL_NAME: MODEL,
    EXPERIMENT: 'ab',
    LIVE_ENDPOINT: LIVE,
    STANDBY_ENDPOINT: STANDBY,
    APPCONFIG_APPLICATION: 'ml-platform',
    APPCONFIG_ENVIRONMENT: 'prod',
    APPCONFIG_PROFILE: 'document-classifier-flag',
    FLAG_CACHE_SECONDS: '30',
    ROUTER_TIMEOUT_MS: '2000',
    ROUTER_RETRIES: '1',
    HMAC_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:router-hmac-AbCdEf',
    DELIVERY_STREAM_NAME: STREAM,
    FALLBACK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/' + QUEUE,
    ...overrides,
  };
}

function request(body: unknown, requestId = 'req-1', method = 'POST') {
  return {
    requestId,
    method,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

function urlEvent(body: unknown): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc',
      http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'url-request-id',
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:10:00:00 +0000',
      timeEpoch: T0,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const context = (awsRequestId: string) => ({ awsRequestId }) as Context;

/** A clock the test moves by hand. */
function fakeClock() {
  let ms = 0;
  const clock: Clock & { advance(by: number): void } = {
    now: () => new Date(T0 + ms),
    monotonicMs: () => ms,
    advance: (by) => {
      ms += by;
    },
  };
  return clock;
}

interface LogCall {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

function recordingLogger() {
  const calls: LogCall[] = [];
  const logger: RouterLogger = {
    info: (message, attributes) => calls.push({ level: 'info', message, attributes }),
    warn: (message, attributes) => calls.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => calls.push({ level: 'error', message, attributes }),
  };
  return { logger, calls };
}

interface EmfLine {
  readonly _aws: {
    readonly CloudWatchMetrics: {
      readonly Namespace: string;
      readonly Dimensions: string[][];
      readonly Metrics: { Name: string; Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/** A user id the router puts in `variant` under `flag`. */
function userIn(variant: 'stable' | 'candidate', flag = flagDoc(), model = MODEL): string {
  for (let i = 0; ; i++) {
    const id = `user-${i}`;
    if (assignUser(model, flag, id).variant === variant) return id;
  }
}

describe('router', () => {
  const moto = useMoto();
  let s3: S3Client;
  let secrets: SecretsManagerClient;
  let sqs: SQSClient;
  let queueUrl: string;
  let secretArn: string;
  let stdout: jest.SpyInstance;
  let fakeServers: Server[] = [];

  beforeAll(() => {
    s3 = new S3Client(moto.clientConfig);
    secrets = new SecretsManagerClient(moto.clientConfig);
    sqs = new SQSClient(moto.clientConfig);
  });

  beforeEach(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await new FirehoseClient(moto.clientConfig).send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: STREAM,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${BUCKET}`,
          RoleARN: 'arn:aws:iam::123456789012:role/firehose-delivery',
          Prefix: 'predictions/',
        },
      }),
    );
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: QUEUE }))).QueueUrl!;
    secretArn = (await secrets.send(new CreateSecretCommand({ Name: 'router-hmac', SecretString: HMAC_KEY })))
      .ARN!;
    // EMF lines go to stdout; kept here, and out of the test output.
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });

  afterEach(async () => {
    stdout.mockRestore();
    for (const server of fakeServers) {
      server.closeAllConnections();
      server.close();
    }
    fakeServers = [];
  });

  function emfLines(): EmfLine[] {
    return stdout.mock.calls
      .map((call) => String(call[0]))
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as EmfLine);
  }

  /** Queues the model's answers in moto, in order; a string is sent as is. */
  async function queueModelAnswers(...answers: unknown[]): Promise<void> {
    const res = await fetch(`${moto.endpoint}/moto-api/static/sagemaker/endpoint-results`, {
      method: 'POST',
      body: JSON.stringify({
        region: moto.clientConfig.region,
        results: answers.map((answer) => ({
          Body: typeof answer === 'string' ? answer : JSON.stringify(answer),
          ContentType: 'application/json',
          InvokedProductionVariant: 'live',
        })),
      }),
    });
    expect(res.status).toBe(201);
  }

  /** A local stand-in for SageMaker runtime, for the failures moto cannot produce. */
  async function fakeSageMaker(
    answer: (hit: number) => {
      status: number;
      headers?: Record<string, string>;
      body: string;
      delayMs?: number;
    },
  ): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        hits += 1;
        const a = answer(hits);
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
          res.end(a.body);
        };
        if (a.delayMs) setTimeout(send, a.delayMs).unref();
        else send();
      });
    });
    fakeServers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
  }

  interface HarnessOptions {
    /** The flag document AppConfig serves (object, raw text, or an error it throws). */
    readonly flag?: FlagDocument | string | Error;
    readonly env?: Partial<RouterEnvInput>;
    /** Where the runtime client goes: moto (default) or a fake server's URL. */
    readonly sagemakerUrl?: string;
  }

  interface Harness {
    readonly deps: RouterDeps;
    readonly env: RouterEnv;
    readonly clock: ReturnType<typeof fakeClock>;
    readonly logs: LogCall[];
    /** InvokeEndpoint inputs, in order. */
    readonly invoked: InvokeEndpointCommandInput[];
    readonly appConfig: AwsClientStub<AppConfigDataClient>;
    /** Sets what AppConfig serves from now on. */
    serveFlag(flag: FlagDocument | string | Error): void;
    /** GetSecretValue calls made. */
    readonly secretReads: () => number;
  }

  function harness(options: HarnessOptions = {}): Harness {
    const env = routerEnv({
      ...envInput({
        HMAC_SECRET_ARN: secretArn,
        FALLBACK_QUEUE_URL: queueUrl,
        // The router's timeout is wall time, and moto is a Python process on a shared machine: its
        // first InvokeEndpoint of a worker loads the runtime backend, and took 2,075 ms at load
        // average 13 (that attempt of the flag-and-split test timed out at the shipped 2,000 ms and
        // only its retry saved it; at load 25+ the retry was late too, and the test got HTTP 502,
        // failing for helpers of session 5). What these tests check
        // is routing, records and errors, not latency, so they wait as long as the schema allows;
        // the timeout itself is tested against a local server that answers late, with its own
        // ROUTER_TIMEOUT_MS ("times out each attempt after ROUTER_TIMEOUT_MS and retries it").
        ROUTER_TIMEOUT_MS: '60000',
      }),
      ...options.env,
    } as NodeJS.ProcessEnv);
    const clock = fakeClock();
    const { logger, calls } = recordingLogger();
    const invoked: InvokeEndpointCommandInput[] = [];
    const runtime = routerSageMakerRuntime(
      { timeoutMs: env.ROUTER_TIMEOUT_MS, retries: env.ROUTER_RETRIES },
      { ...moto.clientConfig, ...(options.sagemakerUrl ? { endpoint: options.sagemakerUrl } : {}) },
    );
    runtime.middlewareStack.add(
      (next) => async (args) => {
        invoked.push(args.input as InvokeEndpointCommandInput);
        clock.advance(ENDPOINT_MS);
        return next(args);
      },
      { step: 'initialize', name: 'recordInvoke' },
    );
    const appConfigData = new AppConfigDataClient(moto.clientConfig);
    const appConfig = mockClient(appConfigData);
    appConfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 'token-0' });
    let poll = 0;
    const serveFlag = (flag: FlagDocument | string | Error) => {
      appConfig.on(GetLatestConfigurationCommand).callsFake(async () => {
        if (flag instanceof Error) throw flag;
        poll += 1;
        const text = typeof flag === 'string' ? flag : JSON.stringify(flag);
        const output: Partial<GetLatestConfigurationCommandOutput> = {
          Configuration: new TextEncoder().encode(
            text,
          ) as GetLatestConfigurationCommandOutput['Configuration'],
          NextPollConfigurationToken: `token-${poll}`,
          ContentType: 'application/json',
        };
        return output;
      });
    };
    serveFlag(options.flag ?? flagDoc());
    const secretsClient = new SecretsManagerClient(moto.clientConfig);
    let secretReads = 0;
    secretsClient.middlewareStack.add(
      (next) => async (args) => {
        secretReads += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countSecretReads' },
    );
    const deps = routerDeps(
      env,
      {
        sagemakerRuntime: runtime,
        appConfigData,
        secrets: secretsClient,
        firehose: new FirehoseClient(moto.clientConfig),
        sqs: new SQSClient(moto.clientConfig),
      },
      {
        logger,
        clock,
        metrics: routerMetrics(MODEL),
        predictionLogRetry: { sleep: async () => undefined },
      },
    );
    return {
      deps,
      env,
      clock,
      logs: calls,
      invoked,
      appConfig,
      serveFlag,
      secretReads: () => secretReads,
    };
  }

  /** Every prediction-log line Firehose (moto) wrote to the bucket. */
  async function loggedRecords(): Promise<{ lines: string[]; records: PredictionRecord[] }> {
    const lines: string[] = [];
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    for (const object of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key }));
      lines.push(...(await body.Body!.transformToString('utf8')).split(/(?<=\n)/));
    }
    return { lines, records: lines.map((line, i) => parsePredictionRecordLine(line, `line ${i}`)) };
  }

  const answer = { label: 'invoice', confidence: 0.93, scores: { invoice: 0.93, receipt: 0.07 } };

  describe('flag and split', () => {
    it('reads the flag, splits users by the model-salted hash and keeps each user on their variant', async () => {
      const h = harness();
      // Every request has its own InferenceId, so moto answers each one from the queue in turn.
      await queueModelAnswers(answer, { label: 'receipt', confidence: 0.61 }, answer);
      const stableUser = userIn('stable');
      const candidateUser = userIn('candidate');

      const first = await route(request({ userId: candidateUser, input: INPUT }, 'req-1'), h.deps);
      const second = await route(request({ userId: stableUser, input: OTHER_INPUT }, 'req-2'), h.deps);
      const again = await route(request({ userId: candidateUser, input: INPUT }, 'req-3'), h.deps);

      expect(first.statusCode).toBe(200);
      expect(first.body).toEqual({
        prediction: answer,
        modelVersion: CANDIDATE,
        variant: 'candidate',
        endpoint: 'live',
        routedBy: 'split',
        requestId: 'req-1',
      });
      expect(second.body).toEqual({
        prediction: { label: 'receipt', confidence: 0.61 },
        modelVersion: STABLE,
        variant: 'stable',
        endpoint: 'live',
        routedBy: 'split',
        requestId: 'req-2',
      });
      expect(again.body).toMatchObject({ variant: 'candidate', modelVersion: CANDIDATE });
      // One flag read for the three requests (cached for FLAG_CACHE_SECONDS).
      expect(h.appConfig.commandCalls(GetLatestConfigurationCommand)).toHaveLength(1);
      expect(h.appConfig.commandCalls(StartConfigurationSessionCommand)[0].args[0].input).toEqual({
        ApplicationIdentifier: 'ml-platform',
        EnvironmentIdentifier: 'prod',
        ConfigurationProfileIdentifier: 'document-classifier-flag',
        RequiredMinimumPollIntervalInSeconds: 30,
      });
      // The request id goes out as InferenceId: the key of both variants' data capture records.
      expect(h.invoked).toEqual(
        [INPUT, OTHER_INPUT, INPUT].map((input, i) => ({
          EndpointName: LIVE,
          TargetVariant: 'live',
          ContentType: 'application/json',
          Accept: 'application/json',
          InferenceId: `req-${i + 1}`,
          Body: JSON.stringify(input),
        })),
      );
      const bucket = bucketOf(assignmentSalt(MODEL, 'ab'), candidateUser);
      expect(bucket).toBeLessThan(5000);
      expect(first.record).toEqual({
        request_id: 'req-1',
        ts: '2026-11-27T10:00:00.000Z',
        model: MODEL,
        model_version: CANDIDATE,
        variant: 'candidate',
        endpoint: 'live',
        routed_by: 'split',
        active_flags: ['experiment=ab', 'killSwitch=false', 'candidatePercent=50'],
        user_bucket: bucket,
        input_hmac: inputHmac(new TextEncoder().encode(HMAC_KEY), JSON.stringify(INPUT)),
        label: 'invoice',
        confidence: 0.93,
        latency_ms: ENDPOINT_MS,
        error: null,
        inference_id: 'req-1',
      });
      expect(h.logs.filter((l) => l.level !== 'info')).toEqual([]);
    });

    it('pins the salt: changing it would reshuffle every user of every model', () => {
      expect(assignmentSalt(MODEL, 'ab')).toBe('sdfb02bb956434f137e8e4ef1b71b8af6');
      expect(assignmentSalt('fraud-scorer', 'ab')).not.toBe(assignmentSalt(MODEL, 'ab'));
      expect(bucketOf(assignmentSalt(MODEL, 'ab'), 'user-42')).toBe(3210);
      expect(assignUser(MODEL, flagDoc(), 'user-42').bucket).toBe(3210);
    });

    it('makes two models with the same experiment name independent', () => {
      const flag = flagDoc({ experiment: 'ab' });
      const users = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
      const same = (a: (u: string) => string, b: (u: string) => string) =>
        users.filter((u) => a(u) === b(u)).length / users.length;
      const salted = same(
        (u) => assignUser(MODEL, flag, u).variant,
        (u) => assignUser('fraud-scorer', { ...flag, model: 'fraud-scorer' }, u).variant,
      );
      // Independent 50% splits agree on about half of the users; unsalted by model they agree on all.
      expect(salted).toBeGreaterThan(0.46);
      expect(salted).toBeLessThan(0.54);
      expect(
        same(
          (u) => assign(flag, u).variant,
          (u) => assign({ ...flag, model: 'fraud-scorer' }, u).variant,
        ),
      ).toBe(1);
    });

    it('sends everyone to stable when the kill switch is on', async () => {
      const h = harness({
        flag: flagDoc({
          killSwitch: true,
          candidate: { modelVersion: CANDIDATE, endpoint: 'live', percent: 100 },
        }),
      });
      await queueModelAnswers(answer);
      const res = await route(request({ userId: userIn('candidate'), input: INPUT }), h.deps);
      expect(res.body).toMatchObject({
        modelVersion: STABLE,
        variant: 'stable',
        endpoint: 'live',
        routedBy: 'kill-switch',
      });
      expect(res.record?.active_flags).toEqual(['experiment=ab', 'killSwitch=true', 'candidatePercent=100']);
      expect(h.invoked[0]).toMatchObject({ EndpointName: LIVE, TargetVariant: 'live' });
    });

    it('calls the standby endpoint with TargetVariant standby for a version the flag puts there', async () => {
      // After a rollback: the stable version is the N-1 one on the warm standby endpoint.
      const h = harness({
        flag: flagDoc({ stable: { modelVersion: N_MINUS_1, endpoint: 'standby' }, candidate: null }),
      });
      await queueModelAnswers(answer);
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      expect(res.body).toMatchObject({
        modelVersion: N_MINUS_1,
        variant: 'stable',
        endpoint: 'standby',
        routedBy: 'no-candidate',
      });
      expect(h.invoked[0]).toMatchObject({ EndpointName: STANDBY, TargetVariant: 'standby' });
      expect(res.record).toMatchObject({
        endpoint: 'standby',
        active_flags: ['experiment=ab', 'killSwitch=false'],
      });
    });

    it('calls the standby endpoint for a candidate served there', async () => {
      const flag = flagDoc({ candidate: { modelVersion: CANDIDATE, endpoint: 'standby', percent: 100 } });
      const h = harness({ flag });
      await queueModelAnswers(answer);
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      expect(res.body).toMatchObject({
        modelVersion: CANDIDATE,
        variant: 'candidate',
        endpoint: 'standby',
        routedBy: 'split',
      });
      expect(h.invoked[0]).toMatchObject({ EndpointName: STANDBY, TargetVariant: 'standby' });
    });
  });

  describe('when the flag cannot be used', () => {
    const advice =
      "check that the flag is deployed to environment prod and that the router's role may read it " +
      '(appconfig:StartConfigurationSession, appconfig:GetLatestConfiguration)';
    const fallbackWarning = (problem: string) =>
      'router: no flag; serving the stable version on the live endpoint to everyone (model version "unknown", ' +
      `routedBy "flag-unavailable") and trying again in 30 s: ${problem}`;

    async function servedWithoutFlag(h: Harness) {
      // One answer per request: each request has its own InferenceId.
      await queueModelAnswers(answer, answer, answer);
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      expect(res.statusCode).toBe(200);
      expect(res.body).toEqual({
        prediction: answer,
        modelVersion: 'unknown',
        variant: 'stable',
        endpoint: 'live',
        routedBy: 'flag-unavailable',
        requestId: 'req-1',
      });
      expect(h.invoked[0]).toMatchObject({ EndpointName: LIVE, TargetVariant: 'live' });
      expect(res.record).toMatchObject({
        model_version: 'unknown',
        routed_by: 'flag-unavailable',
        user_bucket: null,
        active_flags: [],
        error: null,
      });
      return res;
    }

    it('serves stable on the live endpoint when AppConfig fails, warns once per cache period and counts it', async () => {
      const h = harness({
        flag: new InternalServerException({ message: 'AppConfig is unavailable', $metadata: {} }),
      });
      await servedWithoutFlag(h);
      const problem = `cannot read the ${FLAG_LABEL}: InternalServerException: AppConfig is unavailable; ${advice}`;
      expect(h.logs).toEqual([
        { level: 'warn', message: fallbackWarning(problem), attributes: { flag: FLAG_LABEL, problem } },
      ]);

      // More requests in the same period: no new read, no new warning, but each one counted.
      h.clock.advance(20_000);
      await route(request({ userId: 'user-8', input: INPUT }, 'req-2'), h.deps);
      expect(h.logs).toHaveLength(1);
      expect(h.appConfig.commandCalls(GetLatestConfigurationCommand)).toHaveLength(1);
      const flagMetrics = emfLines().filter((line) => 'FlagUnavailable' in line);
      expect(flagMetrics).toHaveLength(2);
      expect(flagMetrics[0]._aws.CloudWatchMetrics).toEqual([
        {
          Namespace: 'MLPlatform/Router',
          Dimensions: [['service', 'Model']],
          Metrics: [{ Name: 'FlagUnavailable', Unit: 'Count' }],
        },
      ]);
      expect(flagMetrics[0]).toMatchObject({ service: MODEL, Model: MODEL, FlagUnavailable: 1 });

      // The next period reads again, and warns again.
      h.clock.advance(30_000);
      await route(request({ userId: 'user-8', input: INPUT }, 'req-3'), h.deps);
      expect(h.appConfig.commandCalls(GetLatestConfigurationCommand)).toHaveLength(2);
      expect(h.logs.filter((l) => l.level === 'warn')).toHaveLength(2);
    });

    it('serves stable on the live endpoint when the document is invalid', async () => {
      const h = harness({
        flag: JSON.stringify({
          ...flagDoc(),
          candidate: { modelVersion: CANDIDATE, endpoint: 'live', percent: 150 },
        }),
      });
      await servedWithoutFlag(h);
      const problem =
        `${FLAG_LABEL} is not a valid flag document: candidate.percent: invalid value (got 150, expected a ` +
        'percentage from 0 to 100); fix the document and deploy it again';
      expect(h.logs).toEqual([
        { level: 'warn', message: fallbackWarning(problem), attributes: { flag: FLAG_LABEL, problem } },
      ]);
    });

    it('serves stable on the live endpoint when no document is deployed', async () => {
      const h = harness({ flag: '' });
      await servedWithoutFlag(h);
      expect(h.logs[0].attributes.problem).toBe(
        `the ${FLAG_LABEL} is empty: no flag document is deployed; ${advice}`,
      );
    });

    it('refuses a flag for another model', async () => {
      const h = harness({ flag: flagDoc({ model: 'fraud-scorer' }) });
      await servedWithoutFlag(h);
      const problem =
        `${FLAG_LABEL} is for model "fraud-scorer", but this router serves "${MODEL}"; deploy ${MODEL}'s flag to ` +
        'this configuration profile, or point the router at the right profile (APPCONFIG_PROFILE)';
      expect(h.logs).toEqual([
        { level: 'warn', message: fallbackWarning(problem), attributes: { flag: FLAG_LABEL, problem } },
      ]);
    });

    it('keeps routing by the last flag it read when a refresh fails, and says so', async () => {
      const rolledBack = flagDoc({
        stable: { modelVersion: N_MINUS_1, endpoint: 'standby' },
        candidate: null,
      });
      const h = harness({ flag: rolledBack });
      await queueModelAnswers(
        answer,
        { label: 'receipt', confidence: 0.5 },
        { label: 'receipt', confidence: 0.4 },
      );
      await route(request({ userId: 'user-7', input: INPUT }, 'req-1'), h.deps);

      h.serveFlag(new InternalServerException({ message: 'AppConfig is unavailable', $metadata: {} }));
      h.clock.advance(31_000);
      const stale = await route(request({ userId: 'user-8', input: INPUT }, 'req-2'), h.deps);
      // Not back to the live endpoint the rollback left.
      expect(stale.body).toMatchObject({
        modelVersion: N_MINUS_1,
        endpoint: 'standby',
        routedBy: 'no-candidate',
      });
      expect(stale.record?.active_flags).toEqual(['experiment=ab', 'killSwitch=false', 'flagStale=true']);
      const problem = `cannot read the ${FLAG_LABEL}: InternalServerException: AppConfig is unavailable; ${advice}`;
      expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
        {
          level: 'warn',
          message:
            'router: cannot refresh the flag; still routing by the flag read at 2026-11-27T10:00:00.000Z and trying ' +
            `again in 30 s: ${problem}`,
          attributes: { flag: FLAG_LABEL, problem, flagReadAt: '2026-11-27T10:00:00.000Z' },
        },
      ]);
      expect(emfLines().filter((line) => 'FlagUnavailable' in line)).toHaveLength(1);

      h.serveFlag(flagDoc());
      h.clock.advance(31_000);
      const recovered = await route(request({ userId: userIn('candidate'), input: INPUT }, 'req-3'), h.deps);
      expect(recovered.body).toMatchObject({ modelVersion: CANDIDATE, endpoint: 'live' });
      expect(h.logs.at(-1)).toEqual({
        level: 'info',
        message: 'router: the flag can be read again; routing by it',
        attributes: { flag: FLAG_LABEL },
      });
    });

    it("warns when the flag's experiment is not the configured one, and routes by the flag's", async () => {
      const h = harness({ flag: flagDoc({ experiment: 'checkout-2026-11' }) });
      await queueModelAnswers(answer);
      const user = 'user-7';
      const res = await route(request({ userId: user, input: INPUT }), h.deps);
      expect(res.record?.user_bucket).toBe(bucketOf(assignmentSalt(MODEL, 'checkout-2026-11'), user));
      expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
        {
          level: 'warn',
          message:
            'router: the flag\'s experiment "checkout-2026-11" is not the configured one ("ab"); users are assigned ' +
            "by the flag's: if that is not intended, deploy the flag again from the model's config",
          attributes: { flag: FLAG_LABEL },
        },
      ]);
    });
  });

  describe('bad requests', () => {
    const jsonParseMessage = (text: string): string => {
      try {
        JSON.parse(text);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error(`${text} parsed`);
    };
    const shape =
      'send a JSON object {"userId": "<user id>", "input": <model input, usually {"text": "..."}>}';
    const cases: [string, ReturnType<typeof request>, string][] = [
      ['GET', request('', 'req-1', 'GET'), `method GET is not allowed: use POST and ${shape}`],
      ['no body', request(''), `the request has no body: ${shape}`],
      [
        'not JSON',
        request('{"userId": "u1",'),
        // The parser's own words differ between Node versions (22 adds "(line 1 column 17)").
        `the body is not JSON (${jsonParseMessage('{"userId": "u1",')}): ${shape}`,
      ],
      ['an array', request([1, 2]), `the body is an array, not a JSON object: ${shape}`],
      ['a string', request('"hello"'), `the body is a string, not a JSON object: ${shape}`],
      [
        'no user id',
        request({ input: INPUT }),
        'userId is missing: send the user id as a string, the same on every request of that user',
      ],
      [
        'a numeric user id',
        request({ userId: 42, input: INPUT }),
        'userId must be a string, got a number: send the user id as a string, the same on every request of that user',
      ],
      [
        'an empty user id',
        request({ userId: '', input: INPUT }),
        'userId must be 1 to 256 characters, got 0: send a non-empty id that stays the same for the user (hash a longer one first)',
      ],
      [
        'a long user id',
        request({ userId: 'u'.repeat(257), input: INPUT }),
        'userId must be 1 to 256 characters, got 257: send a non-empty id that stays the same for the user (hash a longer one first)',
      ],
      [
        'no input',
        request({ userId: 'u1' }),
        'input is missing: send the model input, usually {"text": "..."}',
      ],
      [
        'neither',
        request({ userid: 'u1', input: null }),
        'userId is missing: send the user id as a string, the same on every request of that user; ' +
          'input is null: send the model input, usually {"text": "..."}',
      ],
    ];

    it.each(cases)('answers 400 for %s, calls no endpoint and logs no prediction', async (_, req, error) => {
      const h = harness();
      const res = await route(req, h.deps);
      expect(res).toEqual({ statusCode: 400, body: { error, requestId: 'req-1' } });
      expect(h.invoked).toEqual([]);
      expect(h.appConfig.calls()).toEqual([]);
      expect(emfLines().map((line) => [line._aws.CloudWatchMetrics[0].Dimensions, line.BadRequests])).toEqual(
        [[[['service', 'Model']], 1]],
      );
      await h.deps.predictionLog.flush();
      expect((await loggedRecords()).lines).toEqual([]);
    });

    it('reads a base64-encoded body', async () => {
      const h = harness();
      await queueModelAnswers(answer);
      const body = Buffer.from(JSON.stringify({ userId: 'user-7', input: INPUT })).toString('base64');
      const res = await route({ requestId: 'req-1', method: 'POST', body, isBase64Encoded: true }, h.deps);
      expect(res.statusCode).toBe(200);
    });
  });

  describe('endpoint failures', () => {
    it('answers 502 after the retries, naming the endpoint and the attempts, and logs the failure', async () => {
      const endpoint = await fakeSageMaker(() => ({
        status: 500,
        headers: { 'x-amzn-errortype': 'InternalFailure' },
        body: JSON.stringify({ message: 'An internal failure occurred.' }),
      }));
      const h = harness({ sagemakerUrl: endpoint.url, env: { ROUTER_RETRIES: '2' } });
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      const error =
        `endpoint ${LIVE} (variant live) failed after 3 attempts: InternalFailure (HTTP 500): An internal failure ` +
        'occurred.; no prediction was made: retry later, and if it persists check the endpoint status and its CloudWatch logs';
      expect(res.statusCode).toBe(502);
      expect(res.body).toEqual({ error, requestId: 'req-1' });
      expect(endpoint.hits()).toBe(3);
      await h.deps.predictionLog.flush();
      const { records } = await loggedRecords();
      expect(records).toEqual([res.record]);
      expect(records[0]).toMatchObject({
        error,
        label: null,
        confidence: null,
        variant: 'stable',
        model_version: expect.any(String),
      });
      const request0 = emfLines().find((line) => 'Requests' in line)!;
      expect(request0).toMatchObject({ Requests: 1, Errors: 1 });
      expect(request0).not.toHaveProperty('Confidence');
      expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
        {
          level: 'warn',
          message: 'router: endpoint call failed',
          attributes: { requestId: 'req-1', problem: error },
        },
      ]);
    });

    it('times out each attempt after ROUTER_TIMEOUT_MS and retries it', async () => {
      const endpoint = await fakeSageMaker(() => ({
        status: 200,
        body: JSON.stringify(answer),
        delayMs: 5000,
      }));
      const h = harness({
        sagemakerUrl: endpoint.url,
        env: { ROUTER_TIMEOUT_MS: '150', ROUTER_RETRIES: '1' },
      });
      const started = Date.now();
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      // Less than the 5 s the server takes to answer: no attempt waited for it (a bound that holds on
      // a loaded machine, where two 150 ms attempts and the SDK's retry delay can stretch).
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.statusCode).toBe(502);
      expect((res.body as { error: string }).error).toMatch(
        new RegExp(`^endpoint ${LIVE} \\(variant live\\) failed after 2 attempts: TimeoutError: `),
      );
      expect(endpoint.hits()).toBe(2);
    });

    it('does not retry a model error, and keeps the input out of the logged message', async () => {
      const endpoint = await fakeSageMaker(() => ({
        status: 424,
        headers: { 'x-amzn-errortype': 'ModelError' },
        body: JSON.stringify({
          Message: `Received client error (400) from primary with message "cannot parse ${INPUT.text}"`,
          OriginalStatusCode: 400,
        }),
      }));
      const h = harness({ sagemakerUrl: endpoint.url, env: { ROUTER_RETRIES: '2' } });
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      expect(endpoint.hits()).toBe(1);
      expect(res.record?.error).toBe(
        `endpoint ${LIVE} (variant live) failed after 1 attempt: ModelError (HTTP 424): Received client error (400) ` +
          'from primary with message "cannot parse [input]"; no prediction was made: retry later, and if it persists ' +
          'check the endpoint status and its CloudWatch logs',
      );
    });

    it('answers 502 for a body that is not a JSON object', async () => {
      const h = harness();
      await queueModelAnswers('not json', '[0.2, 0.8]');
      const notJson = await route(request({ userId: 'user-7', input: INPUT }, 'req-1'), h.deps);
      const array = await route(request({ userId: 'user-7', input: { text: 'other' } }, 'req-2'), h.deps);
      expect(notJson.body).toEqual({
        error: `endpoint ${LIVE} (variant live) answered with a body that is not JSON, not an object with label and confidence; the inference container must answer JSON`,
        requestId: 'req-1',
      });
      expect(array.body).toEqual({
        error: `endpoint ${LIVE} (variant live) answered with an array, not an object with label and confidence; the inference container must answer a JSON object`,
        requestId: 'req-2',
      });
      expect(array.record?.error).toBe((array.body as { error: string }).error);
    });

    it('takes every string of the input out of an error message, escaped or not', () => {
      const input = { text: 'line one\nline "two"', lang: 'en', parts: ['secret-part'] };
      const json = JSON.stringify(input);
      expect(
        redactInput(`bad body ${json}; text line one\\nline \\"two\\" and secret-part; lang en`, json, input),
      ).toBe('bad body [input]; text [input] and [input]; lang en');
    });
  });

  describe('the model answer', () => {
    it('serves an answer without a usable confidence and logs confidence null', async () => {
      const h = harness();
      await queueModelAnswers({ label: 'invoice' }, { label: 'invoice', confidence: 1.7 });
      const missing = await route(request({ userId: 'user-7', input: INPUT }, 'req-1'), h.deps);
      const outOfRange = await route(request({ userId: 'user-7', input: { text: 'b' } }, 'req-2'), h.deps);
      expect(missing.body).toMatchObject({ prediction: { label: 'invoice' } });
      expect(outOfRange.body).toMatchObject({ prediction: { label: 'invoice', confidence: 1.7 } });
      expect([missing.record, outOfRange.record].map((r) => [r?.label, r?.confidence, r?.error])).toEqual([
        ['invoice', null, null],
        ['invoice', null, null],
      ]);
      const lines = emfLines().filter((line) => 'Requests' in line);
      expect(lines.map((line) => line.Confidence)).toEqual([undefined, undefined]);
      expect(lines.map((line) => line._aws.CloudWatchMetrics[0].Metrics.map((m) => m.Name))).toEqual([
        ['Requests', 'Errors', 'LatencyMs'],
        ['Requests', 'Errors', 'LatencyMs'],
      ]);
    });
  });

  describe('prediction log', () => {
    it('logs the keyed hash of the input, never the input, and the record lands in S3 through Firehose', async () => {
      const h = harness();
      await queueModelAnswers(answer);
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      await h.deps.predictionLog.flush();
      const { lines, records } = await loggedRecords();
      expect(records).toEqual([res.record]);
      expect(records[0].input_hmac).toBe(
        inputHmac(new TextEncoder().encode(HMAC_KEY), JSON.stringify(INPUT)),
      );
      expect(lines[0]).not.toContain('ACME');
      expect(lines[0]).not.toContain('user-7');
    });

    it('reads the key once per container', async () => {
      const h = harness();
      await queueModelAnswers(answer, answer);
      await route(request({ userId: 'user-7', input: INPUT }, 'req-1'), h.deps);
      await route(request({ userId: 'user-8', input: { text: 'other' } }, 'req-2'), h.deps);
      expect(h.secretReads()).toBe(1);
    });

    it('refuses to predict with a key that is too short, saying what to do', async () => {
      const shortKey = (
        await secrets.send(new CreateSecretCommand({ Name: 'short-key', SecretString: 'too-short' }))
      ).ARN!;
      const h = harness({ env: { HMAC_SECRET_ARN: shortKey } });
      const res = await route(request({ userId: 'user-7', input: INPUT }), h.deps);
      expect(res).toEqual({
        statusCode: 500,
        body: {
          error:
            'the router cannot log predictions (its input-hash key is unreadable), so it makes none; retry later, ' +
            'and if it persists tell the platform team, quoting request id req-1',
          requestId: 'req-1',
        },
      });
      expect(h.invoked).toEqual([]);
      expect(h.logs.filter((l) => l.level === 'error')).toEqual([
        {
          level: 'error',
          message: 'router: cannot hash the input for the prediction log; request refused',
          attributes: {
            requestId: 'req-1',
            problem:
              `Error: the HMAC key secret ${shortKey} holds 9 bytes, fewer than the 32 the input hash needs; put a ` +
              'random value of at least 32 bytes in it (changing the key makes new hashes incomparable with earlier ones)',
          },
        },
      ]);
      expect(emfLines().find((line) => 'InternalErrors' in line)).toMatchObject({
        InternalErrors: 1,
        Model: MODEL,
      });
    });
  });

  describe('metrics', () => {
    it('publishes one EMF line per request with its own dimensions, nothing carried over', async () => {
      const h = harness();
      await queueModelAnswers(answer, { label: 'receipt', confidence: 0.25 });
      await route(request({ userId: userIn('candidate'), input: INPUT }, 'req-1'), h.deps);
      await route(request({ userId: 'u1' }, 'req-2'), h.deps);
      await route(request({ userId: userIn('stable'), input: { text: 'b' } }, 'req-3'), h.deps);

      const all = emfLines();
      // Each answered confidence is also published without ModelVersion, with its square, for the
      // confidence alarm's per-minute variance.
      const alarmDims = [['service', 'Model', 'Variant']];
      const alarmLines = all.filter(
        (line) => JSON.stringify(line._aws.CloudWatchMetrics[0].Dimensions) === JSON.stringify(alarmDims),
      );
      expect(alarmLines.map(({ _aws, ...rest }) => rest)).toEqual([
        {
          service: MODEL,
          Model: MODEL,
          Variant: 'candidate',
          Confidence: 0.93,
          ConfidenceSquared: 0.93 * 0.93,
        },
        { service: MODEL, Model: MODEL, Variant: 'stable', Confidence: 0.25, ConfidenceSquared: 0.0625 },
      ]);
      expect(alarmLines[0]._aws.CloudWatchMetrics[0].Metrics).toEqual([
        { Name: 'Confidence', Unit: 'None' },
        { Name: 'ConfidenceSquared', Unit: 'None' },
      ]);
      const lines = all.filter((line) => !alarmLines.includes(line));
      const requestDims = [['service', 'Model', 'ModelVersion', 'Variant']];
      expect(lines.map((line) => line._aws.CloudWatchMetrics[0].Dimensions)).toEqual([
        requestDims,
        [['service', 'Model']],
        requestDims,
      ]);
      expect(lines.every((line) => line._aws.CloudWatchMetrics[0].Namespace === 'MLPlatform/Router')).toBe(
        true,
      );
      const { _aws: metadata, ...first } = lines[0];
      expect(metadata.CloudWatchMetrics[0].Metrics).toEqual([
        { Name: 'Requests', Unit: 'Count' },
        { Name: 'Errors', Unit: 'Count' },
        { Name: 'LatencyMs', Unit: 'Milliseconds' },
        { Name: 'Confidence', Unit: 'None' },
      ]);
      expect(first).toEqual({
        service: MODEL,
        Model: MODEL,
        ModelVersion: CANDIDATE,
        Variant: 'candidate',
        Requests: 1,
        Errors: 0,
        LatencyMs: ENDPOINT_MS,
        Confidence: 0.93,
      });
      const { _aws: _m1, ...second } = lines[1];
      expect(second).toEqual({ service: MODEL, Model: MODEL, BadRequests: 1 });
      const { _aws: _m2, ...third } = lines[2];
      expect(third).toEqual({
        service: MODEL,
        Model: MODEL,
        ModelVersion: STABLE,
        Variant: 'stable',
        Requests: 1,
        Errors: 0,
        LatencyMs: ENDPOINT_MS,
        Confidence: 0.25,
      });
    });
  });

  describe('streaming handler', () => {
    /** A response stream that notes when it is ended, and what was written. */
    function fakeResponseStream(events: string[]) {
      const chunks: Buffer[] = [];
      const stream = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          chunks.push(Buffer.from(chunk));
          callback();
        },
      });
      const end = stream.end.bind(stream) as (...args: unknown[]) => Writable;
      stream.end = ((...args: unknown[]) => {
        events.push('response ended');
        return end(...args);
      }) as Writable['end'];
      stream.on('finish', () => events.push('response finished'));
      return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
    }

    function fakeRuntime(events: string[]) {
      const metadata: unknown[] = [];
      const runtime: StreamingRuntime = {
        streamifyResponse: (handler) => handler,
        HttpResponseStream: {
          from: (stream, meta) => {
            events.push('metadata sent');
            metadata.push(meta);
            return stream;
          },
        },
      };
      return { runtime, metadata };
    }

    /** Wraps the prediction log so the test sees when the flush starts and ends. */
    function watchFlush(h: Harness, events: string[]) {
      const log = h.deps.predictionLog;
      const deps: RouterDeps = {
        ...h.deps,
        predictionLog: {
          add: (record) => log.add(record),
          flush: async () => {
            events.push('flush started');
            const result = await log.flush();
            events.push('flush done');
            return result;
          },
        },
      };
      return deps;
    }

    it('ends the response before it ships the prediction log, and resolves after', async () => {
      const h = harness();
      await queueModelAnswers(answer);
      const events: string[] = [];
      const { runtime, metadata } = fakeRuntime(events);
      const { stream, text } = fakeResponseStream(events);
      const handler = createStreamingHandler(watchFlush(h, events), runtime);

      await handler(urlEvent({ userId: 'user-7', input: INPUT }), stream, context('lambda-req-1'));
      events.push('handler resolved');

      expect(events).toEqual([
        'metadata sent',
        'response ended',
        'flush started',
        'response finished',
        'flush done',
        'handler resolved',
      ]);
      expect(metadata).toEqual([
        { statusCode: 200, headers: { 'content-type': 'application/json', 'x-request-id': 'lambda-req-1' } },
      ]);
      expect(JSON.parse(text())).toMatchObject({
        prediction: answer,
        requestId: 'lambda-req-1',
        routedBy: 'split',
      });
      const { records } = await loggedRecords();
      expect(records.map((r) => r.request_id)).toEqual(['lambda-req-1']);
    });

    it('is what createHandler exports when the awslambda global is there', async () => {
      const h = harness();
      await queueModelAnswers(answer);
      const events: string[] = [];
      const { runtime, metadata } = fakeRuntime(events);
      const global = globalThis as { awslambda?: StreamingRuntime };
      global.awslambda = runtime;
      try {
        const handler = createHandler(h.deps) as StreamingHandler;
        const { stream } = fakeResponseStream(events);
        await handler(urlEvent({ userId: 'user-7' }), stream, context('lambda-req-2'));
      } finally {
        delete global.awslambda;
      }
      expect(metadata).toEqual([
        { statusCode: 400, headers: { 'content-type': 'application/json', 'x-request-id': 'lambda-req-2' } },
      ]);
    });

    it('still ships the log when the caller has gone away', async () => {
      const h = harness();
      await queueModelAnswers(answer);
      const events: string[] = [];
      const { runtime } = fakeRuntime(events);
      const broken = new Writable({
        write: (_chunk, _encoding, callback) => callback(new Error('socket hang up')),
      });
      await createStreamingHandler(watchFlush(h, events), runtime)(
        urlEvent({ userId: 'user-7', input: INPUT }),
        broken,
        context('lambda-req-3'),
      );
      expect(events).toEqual(['metadata sent', 'flush started', 'flush done']);
      expect((await loggedRecords()).records).toHaveLength(1);
      expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
        {
          level: 'warn',
          message: 'router: the answer could not be sent; the caller may have gone away',
          attributes: { requestId: 'lambda-req-3', problem: 'Error: socket hang up' },
        },
      ]);
    });

    it('answers 500 in JSON when routing throws, and says whom to tell', async () => {
      const h = harness();
      const events: string[] = [];
      const { runtime } = fakeRuntime(events);
      const { stream, text } = fakeResponseStream(events);
      const deps: RouterDeps = {
        ...h.deps,
        readFlag: async () => {
          throw new TypeError('boom');
        },
      };
      await createStreamingHandler(deps, runtime)(
        urlEvent({ userId: 'u', input: INPUT }),
        stream,
        context('r-500'),
      );
      expect(JSON.parse(text())).toEqual({
        error:
          'the router failed unexpectedly and made no prediction; retry later, and if it persists tell the platform ' +
          'team, quoting request id r-500',
        requestId: 'r-500',
      });
      expect(h.logs.find((l) => l.level === 'error')?.attributes.problem).toBe('TypeError: boom');
    });

    it('falls back to a buffered answer outside the Lambda runtime, after the flush', async () => {
      const h = harness();
      await queueModelAnswers(answer);
      const events: string[] = [];
      // No awslambda global in jest: createHandler picks the buffered handler.
      const handler = createHandler(watchFlush(h, events)) as BufferedHandler;
      const res = await handler(urlEvent({ userId: 'user-7', input: INPUT }), context('lambda-req-4'));
      expect(events).toEqual(['flush started', 'flush done']);
      expect(res.statusCode).toBe(200);
      expect(res.headers).toEqual({ 'content-type': 'application/json', 'x-request-id': 'lambda-req-4' });
      expect(JSON.parse(res.body)).toMatchObject({ prediction: answer, requestId: 'lambda-req-4' });
    });

    it('exports from index.ts the streaming handler over the environment', () => {
      const marker = async () => undefined;
      const streamified: unknown[] = [];
      const global = globalThis as { awslambda?: StreamingRuntime };
      const saved = { ...process.env };
      global.awslambda = {
        streamifyResponse: (handler) => {
          streamified.push(handler);
          return marker;
        },
        HttpResponseStream: { from: (stream) => stream },
      };
      Object.assign(process.env, envInput());
      try {
        // A fresh module registry each time: index.ts reads the environment when it is loaded.
        const load = () => {
          let exported: unknown;
          jest.isolateModules(() => {
            exported = jest.requireActual<{ handler: unknown }>('../../lambdas/router/index').handler;
          });
          return exported;
        };
        expect(load()).toBe(marker);
        expect(streamified).toHaveLength(1);
        delete process.env.LIVE_ENDPOINT;
        expect(load).toThrow('router environment: LIVE_ENDPOINT is missing; ');
      } finally {
        delete global.awslambda;
        process.env = saved;
      }
    });
  });

  describe('environment', () => {
    it('parses the numbers the construct writes as strings', () => {
      expect(routerEnv(envInput() as NodeJS.ProcessEnv)).toMatchObject({
        FLAG_CACHE_SECONDS: 30,
        ROUTER_TIMEOUT_MS: 2000,
        ROUTER_RETRIES: 1,
      });
      expect(Object.keys(routerEnvSchema.shape)).toEqual([
        'MODEL_NAME',
        'EXPERIMENT',
        'LIVE_ENDPOINT',
        'STANDBY_ENDPOINT',
        'APPCONFIG_APPLICATION',
        'APPCONFIG_ENVIRONMENT',
        'APPCONFIG_PROFILE',
        'FLAG_CACHE_SECONDS',
        'ROUTER_TIMEOUT_MS',
        'ROUTER_RETRIES',
        'HMAC_SECRET_ARN',
        'DELIVERY_STREAM_NAME',
        'FALLBACK_QUEUE_URL',
        'POWERTOOLS_SERVICE_NAME',
        'POWERTOOLS_LOG_LEVEL',
      ]);
    });

    it('names every missing or invalid key', () => {
      const { LIVE_ENDPOINT: _, ...rest } = envInput({ FLAG_CACHE_SECONDS: '5', ROUTER_RETRIES: '1.5' });
      expect(() => routerEnv(rest as NodeJS.ProcessEnv)).toThrow(
        new Error(
          'router environment: LIVE_ENDPOINT is missing; FLAG_CACHE_SECONDS is invalid (expected a whole number from ' +
            '15 to 3600); ROUTER_RETRIES is invalid (expected a whole number from 0 to 3); the function was deployed ' +
            "without the ModelEndpoint construct's router settings: redeploy the model stack",
        ),
      );
    });

    it('names the log levels Powertools accepts', () => {
      expect(() => routerEnv({ ...envInput(), POWERTOOLS_LOG_LEVEL: 'LOUD' })).toThrow(
        'router environment: POWERTOOLS_LOG_LEVEL is invalid (expected one of TRACE, DEBUG, INFO, WARN, ERROR, ' +
          "CRITICAL, SILENT); the function was deployed without the ModelEndpoint construct's router settings",
      );
    });
  });
});
