/**
 * The router's Lambda handler behind a function URL (invoke mode RESPONSE_STREAM): `route` decides
 * the answer, the answer is written to the response stream and the stream ended, and only then is
 * the prediction log shipped. The caller has its answer while the function still talks to Firehose.
 *
 * Outside Lambda's Node.js runtime (no `awslambda` global) it falls back to a buffered handler,
 * which ships the log before it returns.
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { describeError } from './flag';
import { publishModelCount } from './metrics';
import { route, type RouteResult, type RouterDeps } from './route';
import type { RouterRequest } from './request';

/** The part of the runtime's `awslambda` global the router uses. */
export interface StreamingRuntime {
  streamifyResponse(handler: StreamingHandler): unknown;
  readonly HttpResponseStream: {
    from(stream: Writable, metadata: { statusCode: number; headers: Record<string, string> }): Writable;
  };
}

export type StreamingHandler = (
  event: LambdaFunctionURLEvent,
  responseStream: Writable,
  context?: Context,
) => Promise<void>;

export interface BufferedResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export type BufferedHandler = (event: LambdaFunctionURLEvent, context?: Context) => Promise<BufferedResult>;

/** Lambda's `awslambda` global, when the code runs in Lambda's Node.js runtime. */
export function lambdaRuntime(): StreamingRuntime | undefined {
  return (globalThis as { awslambda?: StreamingRuntime }).awslambda;
}

/** The handler to export: streaming under Lambda's runtime, buffered elsewhere. */
export function createHandler(
  deps: RouterDeps,
  runtime: StreamingRuntime | undefined = lambdaRuntime(),
): unknown {
  return runtime
    ? runtime.streamifyResponse(createStreamingHandler(deps, runtime))
    : createBufferedHandler(deps);
}

export function createStreamingHandler(deps: RouterDeps, runtime: StreamingRuntime): StreamingHandler {
  return async (event, responseStream, context) => {
    const result = await respond(event, context, deps);
    const stream = runtime.HttpResponseStream.from(responseStream, {
      statusCode: result.statusCode,
      headers: headers(result),
    });
    // A caller that went away must not stop the log: the error is noted, the flush still runs.
    stream.on('error', (error) =>
      deps.logger.warn('router: the answer could not be sent; the caller may have gone away', {
        requestId: result.body.requestId,
        problem: describeError(error),
      }),
    );
    // end() hands the answer over without waiting for the stream to drain: the flush must not wait
    // on the caller's connection either.
    stream.end(JSON.stringify(result.body));
    await deps.predictionLog.flush();
  };
}

export function createBufferedHandler(deps: RouterDeps): BufferedHandler {
  return async (event, context) => {
    const result = await respond(event, context, deps);
    await deps.predictionLog.flush();
    return { statusCode: result.statusCode, headers: headers(result), body: JSON.stringify(result.body) };
  };
}

/** `route`, with a 500 answer for anything it did not expect (a bug), so the caller always gets JSON. */
async function respond(
  event: LambdaFunctionURLEvent,
  context: Context | undefined,
  deps: RouterDeps,
): Promise<RouteResult> {
  if (context) deps.logger.addContext?.(context);
  const request = routerRequest(event, context);
  try {
    return await route(request, deps);
  } catch (error) {
    deps.logger.error('router: unexpected error; answered 500', {
      requestId: request.requestId,
      problem: describeError(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    publishModelCount(deps.metrics, deps.model, 'InternalErrors');
    return {
      statusCode: 500,
      body: {
        error:
          'the router failed unexpectedly and made no prediction; retry later, and if it persists tell the ' +
          `platform team, quoting request id ${request.requestId}`,
        requestId: request.requestId,
      },
    };
  }
}

/** The request id is Lambda's (it is on every log line of the invocation). */
export function routerRequest(event: LambdaFunctionURLEvent, context: Context | undefined): RouterRequest {
  return {
    requestId: context?.awsRequestId ?? event?.requestContext?.requestId ?? randomUUID(),
    method: event?.requestContext?.http?.method ?? '',
    body: event?.body,
    isBase64Encoded: event?.isBase64Encoded === true,
  };
}

function headers(result: RouteResult): Record<string, string> {
  return { 'content-type': 'application/json', 'x-request-id': result.body.requestId };
}
