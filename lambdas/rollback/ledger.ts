/**
 * The rollback ledger: one DynamoDB item per rollback away from a release (pk = model, sk =
 * `rollbackClaimKey(from)`). An invocation claims the item with a conditional put before it changes
 * anything, so of two alarms for the same incident, or two concurrent invocations, exactly one
 * rolls back; the other finds the item and changes nothing.
 *
 * A claim may be taken over when the earlier rollback failed (nothing took effect: retrying is
 * what a person wants) or its invocation died mid-way (status still `started` after its lease,
 * which is the invocation's own deadline).
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { RollbackRecord, RollbackTrigger, ServedModel, StandbyModel } from '../core/serving/rollback';

export type LedgerStatus = 'started' | RollbackRecord['status'];

/** What an existing item says, for the duplicate's message. */
export interface LedgerEntry {
  readonly sk: string;
  readonly status: LedgerStatus;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly by: string;
  readonly startedAt: string;
  readonly recordKey: string | null;
  /**
   * S3 keys where the record still has to be written (S3 refused it through every retry of the
   * invocation that rolled back); the next invocation that finds this item writes them.
   */
  readonly pendingRecords: readonly string[];
  /** The rollback record as the ledger holds it (JSON), once finished. */
  readonly record: string | null;
}

export interface ClaimInput {
  readonly model: string;
  readonly sk: string;
  readonly from: ServedModel;
  readonly to: StandbyModel;
  readonly trigger: RollbackTrigger;
  readonly startedAt: Date;
  /** After this, a `started` item whose invocation never finished may be taken over. */
  readonly leaseUntil: Date;
}

export type ClaimResult =
  | { readonly result: 'claimed' }
  /** The item existed (a failed or abandoned rollback) and is now this invocation's. */
  | { readonly result: 'took-over'; readonly previous: LedgerEntry }
  | { readonly result: 'exists'; readonly existing: LedgerEntry | undefined };

export async function claimRollback(
  ddb: DynamoDBClient,
  table: string,
  claim: ClaimInput,
): Promise<ClaimResult> {
  try {
    const put = await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: s(claim.model),
          sk: s(claim.sk),
          status: s('started'),
          fromVersion: s(claim.from.modelVersion),
          fromExecutionId: s(claim.from.executionId),
          toVersion: s(claim.to.modelVersion),
          toExecutionId: s(claim.to.executionId),
          triggerKind: s(claim.trigger.kind),
          by: s(claim.trigger.by),
          alarmName: sOrNull(claim.trigger.alarmName),
          reason: s(claim.trigger.reason),
          triggeredAt: s(claim.trigger.triggeredAt),
          startedAt: s(claim.startedAt.toISOString()),
          leaseUntil: { N: String(claim.leaseUntil.getTime()) },
        },
        ConditionExpression:
          'attribute_not_exists(pk) OR #status = :failed OR (#status = :started AND leaseUntil < :now)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':failed': s('failed'),
          ':started': s('started'),
          ':now': { N: String(claim.startedAt.getTime()) },
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return put.Attributes
      ? { result: 'took-over', previous: entryOf(put.Attributes) }
      : { result: 'claimed' };
  } catch (error) {
    if (
      !(error instanceof ConditionalCheckFailedException) &&
      (error as Error).name !== 'ConditionalCheckFailedException'
    ) {
      throw error;
    }
  }
  const got = await ddb.send(
    new GetItemCommand({
      TableName: table,
      Key: { pk: s(claim.model), sk: s(claim.sk) },
      ConsistentRead: true,
    }),
  );
  return { result: 'exists', existing: got.Item ? entryOf(got.Item) : undefined };
}

/**
 * The rollback away from this release (its claimed item, in whatever status), if any. Consistent
 * read: the claim is written before a rollback changes anything, so a rollback in progress is seen.
 */
export async function findRollbackFrom(
  ddb: DynamoDBClient,
  table: string,
  model: string,
  sk: string,
): Promise<LedgerEntry | undefined> {
  const got = await ddb.send(
    new GetItemCommand({ TableName: table, Key: { pk: s(model), sk: s(sk) }, ConsistentRead: true }),
  );
  return got.Item ? entryOf(got.Item) : undefined;
}

/** The newest rollback that returned to this release, if any (a rollback already used the standby). */
export async function findRollbackTo(
  ddb: DynamoDBClient,
  table: string,
  model: string,
  to: Pick<ServedModel, 'modelVersion' | 'executionId'>,
): Promise<LedgerEntry | undefined> {
  let found: LedgerEntry | undefined;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :model AND begins_with(sk, :from)',
        FilterExpression: 'toVersion = :version AND toExecutionId = :execution',
        ExpressionAttributeValues: {
          ':model': s(model),
          ':from': s('from#'),
          ':version': s(to.modelVersion),
          ':execution': s(to.executionId),
        },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const entry = entryOf(item);
      if (found === undefined || entry.startedAt > found.startedAt) found = entry;
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return found;
}

/**
 * Writes the outcome onto the claimed item: status, times, durations, the whole record and the S3
 * keys the record could not be written to yet (`pendingRecords`).
 */
export async function finishRollback(
  ddb: DynamoDBClient,
  table: string,
  key: { readonly model: string; readonly sk: string },
  record: RollbackRecord,
  recordKey: string,
  pendingRecords: readonly string[] = [],
): Promise<void> {
  const values: Record<string, AttributeValue> = {
    ':status': s(record.status),
    ':summary': s(record.summary),
    ':flagDeployedAt': sOrNull(record.flagDeployedAt),
    ':endpointUpdateStartedAt': sOrNull(record.endpointUpdateStartedAt),
    ':finishedAt': s(record.finishedAt),
    ':triggerToFlagSeconds': nOrNull(record.durations.triggerToFlagSeconds),
    ':triggerToEndpointUpdateSeconds': nOrNull(record.durations.triggerToEndpointUpdateSeconds),
    ':handlerSeconds': nOrNull(record.durations.handlerSeconds),
    ':recordKey': s(recordKey),
    ':record': s(JSON.stringify(record)),
    ':pending': pendingRecords.length > 0 ? s(JSON.stringify(pendingRecords)) : { NULL: true },
  };
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: s(key.model), sk: s(key.sk) },
      UpdateExpression:
        'SET #status = :status, summary = :summary, flagDeployedAt = :flagDeployedAt, ' +
        'endpointUpdateStartedAt = :endpointUpdateStartedAt, finishedAt = :finishedAt, ' +
        'triggerToFlagSeconds = :triggerToFlagSeconds, ' +
        'triggerToEndpointUpdateSeconds = :triggerToEndpointUpdateSeconds, handlerSeconds = :handlerSeconds, ' +
        'recordKey = :recordKey, #record = :record, pendingRecords = :pending',
      ExpressionAttributeNames: { '#status': 'status', '#record': 'record' },
      ExpressionAttributeValues: values,
    }),
  );
}

/** The pending record writes are done: nothing is left for a later invocation. */
export async function clearPendingRecords(
  ddb: DynamoDBClient,
  table: string,
  key: { readonly model: string; readonly sk: string },
): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: s(key.model), sk: s(key.sk) },
      UpdateExpression: 'SET pendingRecords = :none',
      ExpressionAttributeValues: { ':none': { NULL: true } },
    }),
  );
}

/**
 * A rollback an alarm asked for while a guarded release updated the live endpoint, deferred to that
 * release's auto-rollback (issue 11, invariant 9): kept until the live endpoint's next change to
 * InService looks at the alarm again. One item per alarm (sk `deferred#<alarm>`); a second deferral
 * of the same alarm replaces it.
 */
export interface Deferral {
  readonly sk: string;
  readonly alarmName: string;
  readonly reason: string;
  /** The alarm's change to ALARM (where time-to-rollback starts). */
  readonly triggeredAt: string;
  readonly deferredAt: string;
  /** The live endpoint's status when the rollback was deferred (Updating, RollingBack). */
  readonly endpointStatus: string;
}

const DEFERRAL_PREFIX = 'deferred#';

export async function recordDeferral(
  ddb: DynamoDBClient,
  table: string,
  model: string,
  deferral: Omit<Deferral, 'sk'>,
): Promise<void> {
  await ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: s(model),
        sk: s(`${DEFERRAL_PREFIX}${deferral.alarmName}`),
        status: s('deferred'),
        alarmName: s(deferral.alarmName),
        reason: s(deferral.reason),
        triggeredAt: s(deferral.triggeredAt),
        deferredAt: s(deferral.deferredAt),
        endpointStatus: s(deferral.endpointStatus),
      },
    }),
  );
}

/** The deferred rollbacks of this model still to look at, oldest first. */
export async function findDeferrals(ddb: DynamoDBClient, table: string, model: string): Promise<Deferral[]> {
  const found: Deferral[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :model AND begins_with(sk, :deferred)',
        FilterExpression: '#status = :open',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':model': s(model),
          ':deferred': s(DEFERRAL_PREFIX),
          ':open': s('deferred'),
        },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const str = (name: string) => item[name]?.S ?? '';
      found.push({
        sk: str('sk'),
        alarmName: str('alarmName'),
        reason: str('reason'),
        triggeredAt: str('triggeredAt'),
        deferredAt: str('deferredAt'),
        endpointStatus: str('endpointStatus'),
      });
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return found.sort((a, b) => a.deferredAt.localeCompare(b.deferredAt));
}

/**
 * The deferral was looked at again (its alarm is OK, or the rollback ran, or it was handed to a
 * person): marked so, with what came of it; kept in the ledger as the record of the look.
 */
export async function closeDeferral(
  ddb: DynamoDBClient,
  table: string,
  model: string,
  sk: string,
  outcome: { readonly at: Date; readonly summary: string },
): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: s(model), sk: s(sk) },
      UpdateExpression: 'SET #status = :status, lookedAt = :at, summary = :summary',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':status': s('looked-at'),
        ':at': s(outcome.at.toISOString()),
        ':summary': s(outcome.summary),
      },
    }),
  );
}

function pendingOf(value: AttributeValue | undefined): string[] {
  if (value?.S === undefined) return [];
  try {
    const keys: unknown = JSON.parse(value.S);
    return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

function entryOf(item: Record<string, AttributeValue>): LedgerEntry {
  const str = (name: string) => item[name]?.S ?? 'unknown';
  return {
    sk: str('sk'),
    status: str('status') as LedgerStatus,
    fromVersion: str('fromVersion'),
    toVersion: str('toVersion'),
    by: str('by'),
    startedAt: str('startedAt'),
    recordKey: item.recordKey?.S ?? null,
    pendingRecords: pendingOf(item.pendingRecords),
    record: item.record?.S ?? null,
  };
}

function s(value: string): AttributeValue {
  return { S: value };
}

function sOrNull(value: string | null): AttributeValue {
  return value === null ? { NULL: true } : { S: value };
}

function nOrNull(value: number | null): AttributeValue {
  return value === null ? { NULL: true } : { N: String(value) };
}
