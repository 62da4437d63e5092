/**
 * One request, from the parsed function URL event to the answer: check the request, read the flag
 * (cached), assign the user, call the endpoint, queue the prediction record and publish the metrics.
 * Shipping the record (`predictionLog.flush()`) is left to the caller, after the answer is sent.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { assign, type Variant } from '../core/routing/assignment';
import type { FlagEndpoint } from '../core/routing/flags';
import { inferenceIdFor } from '../core/routing/inference-id';
import {
  buildPredictionRecord,
  inputHmac,
  type PredictionRecord,
  type RoutedBy,
} from '../core/routing/prediction-record';
import type { FlushResult } from '../shared/prediction-log';
import { invokeModel, type EndpointNames, type SageMakerRuntimePort } from './endpoint';
import { describeError, type Clock, type FlagReader, type FlagState, type RouterLogger } from './flag';
import type { HmacKeyReader } from './hmac-key';
import { publishModelCount, publishRequestMetrics } from './metrics';
import { parseRouterRequest, type RouterRequest } from './request';

/** The model version served while no flag has been read: the record and the metrics say so. */
export const UNKNOWN_MODEL_VERSION = 'unknown';

/** The part of PredictionLog (lambdas/shared/prediction-log.ts) the router uses. */
export interface PredictionSink {
  add(record: PredictionRecord): void;
  flush(): Promise<FlushResult>;
}

/** Everything the router touches; tests and the benchmark pass their own. */
export interface RouterDeps {
  readonly model: string;
  readonly endpoints: EndpointNames;
  readonly sagemakerRuntime: SageMakerRuntimePort;
  readonly readFlag: FlagReader;
  readonly hmacKey: HmacKeyReader;
  readonly predictionLog: PredictionSink;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly logger: RouterLogger;
}

export interface PredictionBody {
  readonly prediction: Record<string, unknown>;
  readonly modelVersion: string;
  readonly variant: Variant;
  readonly endpoint: FlagEndpoint;
  readonly routedBy: RoutedBy;
  readonly requestId: string;
}

export interface ErrorBody {
  readonly error: string;
  readonly requestId: string;
}

export interface RouteResult {
  readonly statusCode: 200 | 400 | 500 | 502;
  readonly body: PredictionBody | ErrorBody;
  /** The prediction record queued on the log; none for a refused request or when it could not be built. */
  readonly record?: PredictionRecord;
}

/** Where a request goes and why. */
interface Decision {
  readonly variant: Variant;
  readonly modelVersion: string;
  readonly endpoint: FlagEndpoint;
  readonly routedBy: RoutedBy;
  readonly bucket: number | null;
  readonly activeFlags: readonly string[];
}

export async function route(request: RouterRequest, deps: RouterDeps): Promise<RouteResult> {
  const { clock, logger, metrics, model } = deps;
  const started = clock.monotonicMs();
  const receivedAt = clock.now();
  const { requestId } = request;

  const parsed = parseRouterRequest(request);
  if (!parsed.ok) {
    logger.info('router: request refused', { requestId, problem: parsed.error });
    publishModelCount(metrics, model, 'BadRequests');
    return { statusCode: 400, body: { error: parsed.error, requestId } };
  }

  // Read once per container, in parallel with the flag on the first request.
  const key = deps.hmacKey();
  key.catch(() => undefined);
  const flag = await deps.readFlag();
  if (flag.status !== 'current') publishModelCount(metrics, model, 'FlagUnavailable');
  const decision = decide(flag, parsed.userId);

  let hmac: string;
  try {
    hmac = inputHmac(await key, parsed.inputJson);
  } catch (error) {
    logger.error('router: cannot hash the input for the prediction log; request refused', {
      requestId,
      problem: describeError(error),
    });
    publishModelCount(metrics, model, 'InternalErrors');
    publishRequestMetrics(metrics, {
      model,
      modelVersion: decision.modelVersion,
      variant: decision.variant,
      latencyMs: clock.monotonicMs() - started,
      confidence: null,
      failed: true,
    });
    return {
      statusCode: 500,
      body: {
        error:
          'the router cannot log predictions (its input-hash key is unreadable), so it makes none; ' +
          `retry later, and if it persists tell the platform team, quoting request id ${requestId}`,
        requestId,
      },
    };
  }

  // One id per request, the request id itself when InvokeEndpoint accepts it: the prediction log
  // line and both variants' data capture records then carry the same key.
  const inferenceId = inferenceIdFor(requestId);
  const answer = await invokeModel(
    deps.sagemakerRuntime,
    deps.endpoints,
    decision.endpoint,
    parsed.inputJson,
    parsed.input,
    inferenceId,
  );
  const latencyMs = clock.monotonicMs() - started;

  const record = buildRecord(deps, {
    requestId,
    receivedAt,
    model,
    modelVersion: decision.modelVersion,
    variant: decision.variant,
    endpoint: decision.endpoint,
    routedBy: decision.routedBy,
    activeFlags: decision.activeFlags,
    userBucket: decision.bucket,
    inputHmac: hmac,
    label: answer.ok ? answer.label : null,
    confidence: answer.ok ? answer.confidence : null,
    latencyMs,
    error: answer.ok ? null : answer.error,
    inferenceId,
  });
  publishRequestMetrics(metrics, {
    model,
    modelVersion: decision.modelVersion,
    variant: decision.variant,
    latencyMs,
    confidence: answer.ok ? answer.confidence : null,
    failed: !answer.ok,
  });

  if (!answer.ok) {
    logger.warn('router: endpoint call failed', { requestId, problem: answer.error });
    return { statusCode: 502, body: { error: answer.error, requestId }, record };
  }
  return {
    statusCode: 200,
    body: {
      prediction: answer.prediction,
      modelVersion: decision.modelVersion,
      variant: decision.variant,
      endpoint: decision.endpoint,
      routedBy: decision.routedBy,
      requestId,
    },
    record,
  };
}

function decide(flag: FlagState, userId: string): Decision {
  if (flag.status === 'unavailable') {
    return {
      variant: 'stable',
      modelVersion: UNKNOWN_MODEL_VERSION,
      endpoint: 'live',
      routedBy: 'flag-unavailable',
      bucket: null,
      activeFlags: [],
    };
  }
  const assignment = assign(flag.routingFlag, userId);
  const { experiment, killSwitch, candidate } = flag.flag;
  const activeFlags = [`experiment=${experiment}`, `killSwitch=${killSwitch}`];
  if (candidate !== null) activeFlags.push(`candidatePercent=${candidate.percent}`);
  if (flag.status === 'stale') activeFlags.push('flagStale=true');
  return {
    variant: assignment.variant,
    modelVersion: assignment.modelVersion,
    endpoint: assignment.endpoint,
    routedBy: assignment.reason,
    bucket: assignment.bucket,
    activeFlags,
  };
}

/** Builds and queues the record; a record that cannot be built is logged, and the answer still goes out. */
function buildRecord(
  deps: RouterDeps,
  input: Parameters<typeof buildPredictionRecord>[0],
): PredictionRecord | undefined {
  let record: PredictionRecord;
  try {
    record = buildPredictionRecord(input);
  } catch (error) {
    deps.logger.error('router: prediction record not built; the prediction is served but not logged', {
      requestId: input.requestId,
      problem: describeError(error),
    });
    return undefined;
  }
  deps.predictionLog.add(record);
  return record;
}
