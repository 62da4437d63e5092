/**
 * Prediction-log replay (SQS event source mapping on the fallback queue, with
 * `ReportBatchItemFailures`). The router's prediction log puts a record on the fallback queue when
 * Firehose does not take it; this function sends those records to Firehose again.
 *
 * Each message body is one serialized prediction record (lambdas/core/routing/prediction-record.ts). A body
 * that is not one is never sent to Firehose. Messages whose record Firehose still refuses after
 * the retries, and messages that are not records, are returned in `batchItemFailures`: SQS keeps
 * them, retries them after the visibility timeout and, after maxReceiveCount receives, moves them
 * to the dead-letter queue, where a person looks at them. Every other message of the batch is done
 * and deleted by the event source mapping.
 */
import { FirehoseClient } from '@aws-sdk/client-firehose';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  parsePredictionRecordLine,
  PredictionRecordError,
  serializeRecord,
} from '../core/routing/prediction-record';
import { logger } from '../shared/logger';
import { DEFAULT_RETRY_POLICY, putRecordLines, type RetryPolicy } from '../shared/prediction-log';
import { requireEnv } from '../shared/settings';
import { lazy } from '../shared/lazy';

/** Everything external the handler touches, injectable in tests. */
export interface Deps {
  readonly firehose: FirehoseClient;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retry?: Partial<RetryPolicy>;
}

/** The handler, over the given client. Env: DELIVERY_STREAM_NAME. */
export function createHandler(deps: Deps) {
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    const deliveryStream = requireEnv('DELIVERY_STREAM_NAME');
    if (!Array.isArray(event?.Records)) {
      throw new Error(
        'prediction-replay: the event has no Records list; this function must be invoked by an SQS event source mapping on the prediction-log fallback queue',
      );
    }

    const failures: SQSBatchItemFailure[] = [];
    const messageIds: string[] = [];
    const lines: string[] = [];
    for (const message of event.Records) {
      try {
        // Parsed and written again: the record is checked, and a body replayed by hand from the
        // log fallback (no trailing newline) becomes the same line the router would have sent.
        const record = parsePredictionRecordLine(message.body, `SQS message ${message.messageId}`);
        lines.push(serializeRecord(record));
        messageIds.push(message.messageId);
      } catch (error) {
        if (!(error instanceof PredictionRecordError)) throw error;
        logger.error(
          'prediction-replay: message is not a prediction record and was not sent to Firehose; it stays ' +
            'in the queue and moves to the dead-letter queue after maxReceiveCount receives: inspect it there, ' +
            'then delete it or send a corrected record to the fallback queue',
          { messageId: message.messageId, problem: error.message },
        );
        failures.push({ itemIdentifier: message.messageId });
      }
    }

    const delivery = await putRecordLines(deps.firehose, deliveryStream, lines, retry);
    const undelivered = messageIds.filter((_, i) => !delivery.delivered[i]);
    if (undelivered.length > 0) {
      logger.warn(
        'prediction-replay: Firehose did not take every record; SQS will deliver these messages again ' +
          'and moves them to the dead-letter queue after maxReceiveCount receives',
        { deliveryStream, messages: undelivered.length, cause: delivery.cause },
      );
    }
    failures.push(...undelivered.map((itemIdentifier) => ({ itemIdentifier })));
    logger.info('prediction-replay done', {
      messages: event.Records.length,
      replayed: lines.length - undelivered.length,
      retried: delivery.retried,
      failed: failures.length,
    });
    return { batchItemFailures: failures };
  };
}

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= { firehose: lazy(() => new FirehoseClient({})) };
  return defaults;
}

export const handler = createHandler(defaultDeps());
