/**
 * The endpoint call: InvokeEndpoint on the live or standby endpoint, with the variant that endpoint
 * always has (`live` / `standby`, see endpoint-spec.ts), a per-attempt timeout and the SDK's retries.
 */
import {
  InvokeEndpointCommand,
  SageMakerRuntimeClient,
  type InvokeEndpointCommandOutput,
  type SageMakerRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-runtime';
import { LIVE_VARIANT, STANDBY_VARIANT } from '../core/serving/endpoint-spec';
import type { FlagEndpoint } from '../core/routing/flags';

/** The one call the router makes; a SageMakerRuntimeClient, or a fake in tests and benchmarks. */
export interface SageMakerRuntimePort {
  send(command: InvokeEndpointCommand): Promise<InvokeEndpointCommandOutput>;
}

export interface EndpointNames {
  readonly live: string;
  readonly standby: string;
}

/**
 * The runtime client of the router: `retries + 1` attempts, each cut after `timeoutMs` (the SDK
 * retries timeouts, throttling and 5xx; not a model error, which the container answered with).
 * `throwOnRequestTimeout`: without it the Node handler only logs a warning when the timeout passes.
 */
export function routerSageMakerRuntime(
  settings: { readonly timeoutMs: number; readonly retries: number },
  config: SageMakerRuntimeClientConfig = {},
): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    ...config,
    maxAttempts: settings.retries + 1,
    requestHandler: {
      requestTimeout: settings.timeoutMs,
      connectionTimeout: settings.timeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

export type ModelAnswer =
  | {
      readonly ok: true;
      /** The model's JSON object, served as it came. */
      readonly prediction: Record<string, unknown>;
      /** `label` when it is a string, else null (for the record). */
      readonly label: string | null;
      /** `confidence` when it is a number in [0, 1], else null (for the record and the metric). */
      readonly confidence: number | null;
    }
  | { readonly ok: false; readonly error: string };

const MAX_ERROR_DETAIL = 1000;

/**
 * Sends `body` (the input's JSON) to the endpoint named by `endpoint`. Never throws: a failure comes
 * back as a message naming the endpoint, the variant and the attempts, with any text of the input
 * that the endpoint echoed taken out (the message goes to the prediction log).
 *
 * `inferenceId` goes out as `InferenceId`: SageMaker writes it into the data capture record of every
 * variant that answers, the shadow variant's included, as `eventMetadata.inferenceId`
 * (lambdas/core/routing/inference-id.ts cites the docs). It must already be sendable (`inferenceIdFor`).
 */
export async function invokeModel(
  client: SageMakerRuntimePort,
  names: EndpointNames,
  endpoint: FlagEndpoint,
  body: string,
  input: unknown,
  inferenceId: string,
): Promise<ModelAnswer> {
  const endpointName = endpoint === 'live' ? names.live : names.standby;
  const variant = endpoint === 'live' ? LIVE_VARIANT : STANDBY_VARIANT;
  const where = `endpoint ${endpointName} (variant ${variant})`;
  let res: InvokeEndpointCommandOutput;
  try {
    res = await client.send(
      new InvokeEndpointCommand({
        EndpointName: endpointName,
        TargetVariant: variant,
        ContentType: 'application/json',
        Accept: 'application/json',
        InferenceId: inferenceId,
        Body: body,
      }),
    );
  } catch (error) {
    const e = error as {
      name?: string;
      message?: string;
      $metadata?: { attempts?: number; httpStatusCode?: number };
    };
    const attempts = e.$metadata?.attempts ?? 1;
    const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
    const detail = redactInput(String(e.message ?? error), body, input).slice(0, MAX_ERROR_DETAIL);
    return {
      ok: false,
      error:
        `${where} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${e.name ?? 'Error'}${status}: ${detail}; ` +
        'no prediction was made: retry later, and if it persists check the endpoint status and its CloudWatch logs',
    };
  }
  const text = new TextDecoder().decode(res.Body ?? new Uint8Array());
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: `${where} answered with ${text.length === 0 ? 'an empty body' : 'a body that is not JSON'}, not an object with label and confidence; the inference container must answer JSON`,
    };
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    const kind = Array.isArray(answer) ? 'an array' : answer === null ? 'null' : `a ${typeof answer}`;
    return {
      ok: false,
      error: `${where} answered with ${kind}, not an object with label and confidence; the inference container must answer a JSON object`,
    };
  }
  const prediction = answer as Record<string, unknown>;
  const { label, confidence } = prediction;
  return {
    ok: true,
    prediction,
    label: typeof label === 'string' ? label : null,
    confidence: typeof confidence === 'number' && confidence >= 0 && confidence <= 1 ? confidence : null,
  };
}

/** Strings shorter than this are not taken out: "a" or "en" in an error message says nothing of the input. */
const MIN_REDACTED_LENGTH = 4;
const MAX_REDACTED_STRINGS = 200;

/** `text` with the input's JSON and each of its string values (of 4 or more characters) replaced by `[input]`. */
export function redactInput(text: string, inputJson: string, input: unknown): string {
  const strings = new Set<string>([inputJson]);
  const visit = (value: unknown): void => {
    if (strings.size >= MAX_REDACTED_STRINGS) return;
    if (typeof value === 'string') {
      if (value.length >= MIN_REDACTED_LENGTH) strings.add(value);
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === 'object' && value !== null) {
      // Values only: keys ("text") are the input's shape, not what a user wrote.
      Object.values(value).forEach(visit);
    }
  };
  visit(input);
  let out = text;
  // Longest first, so a value is taken out whole before a part of it could be.
  for (const s of [...strings].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join('[input]');
    // The JSON form too: an error message often quotes the body with its escapes.
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s && out.includes(escaped)) out = out.split(escaped).join('[input]');
  }
  return out;
}
