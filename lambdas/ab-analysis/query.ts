/**
 * Runs the summary query: start it, wait for it with a bounded backoff, read every page of its
 * result. Each failure says which query, what Athena said, and what to check.
 */
import type { AthenaResultSet } from '../core/routing/athena-query';
import type { AthenaPort, QueryRequest, QueryState, QueryStatus, ResultPage } from './athena-port';

/** Waits between two `GetQueryExecution` calls: quick for the usual few-second query, then every 10 s. */
export const POLL_DELAYS_MS = [1000, 2000, 4000, 8000, 10_000] as const;

/**
 * Most result pages read. The largest A/B result is one row per variant and user bucket, at most
 * 20,000 rows (20 pages); a result of 100 pages is not an A/B query's, and a loop that never ends is a bug.
 */
export const MAX_RESULT_PAGES = 100;

/** What a failure message names besides the query. */
export interface QueryContext {
  readonly model: string;
  readonly day: string;
  readonly table: string;
  /** `routing.analysis.maxScannedGb`: the cutoff the model stack gives the workgroup. */
  readonly maxScannedGb: number;
}

export interface QueryWait {
  readonly sleep: (ms: number) => Promise<void>;
  /** Longest total wait for the query to finish, in milliseconds. */
  readonly maxWaitMs: number;
}

export interface QueryRun {
  readonly queryExecutionId: string;
  /** Null when Athena did not say. */
  readonly dataScannedBytes: number | null;
  /** Every page's rows, header row first, under the first page's column metadata. */
  readonly resultSet: AthenaResultSet;
  readonly resultPages: number;
}

// Athena cancels a query that hits the workgroup's per-query cutoff with this reason.
const CUTOFF = /bytes scanned limit/i;

export async function runQuery(
  athena: AthenaPort,
  request: QueryRequest,
  context: QueryContext,
  wait: QueryWait,
): Promise<QueryRun> {
  const { workGroup } = request;
  let id: string;
  try {
    id = await athena.startQuery(request);
  } catch (error) {
    throw new Error(
      `cannot start the Athena query in workgroup ${workGroup}: ${describeError(error)}; check that the ` +
        `workgroup exists and is enabled, and that the function's role may run queries in it ` +
        `(athena:StartQueryExecution) and read the table ${context.table} (glue:GetDatabase, glue:GetTable)`,
      { cause: error },
    );
  }
  const status = await waitForQuery(athena, id, request, context, wait);
  const first = await readPage(athena, id, workGroup, undefined);
  const rows = [...(first.resultSet.Rows ?? [])];
  let token = first.nextToken;
  let pages = 1;
  while (token) {
    if (pages >= MAX_RESULT_PAGES) {
      throw new Error(
        `Athena query ${id} returned more than ${MAX_RESULT_PAGES} pages of results; the A/B queries return ` +
          'at most one row per variant and user bucket, so this is not their result: check the query in the Athena ' +
          `console (workgroup ${workGroup})`,
      );
    }
    const page = await readPage(athena, id, workGroup, token);
    rows.push(...(page.resultSet.Rows ?? []));
    token = page.nextToken;
    pages += 1;
  }
  return {
    queryExecutionId: id,
    dataScannedBytes: status.dataScannedBytes ?? null,
    resultSet: { ResultSetMetadata: first.resultSet.ResultSetMetadata, Rows: rows },
    resultPages: pages,
  };
}

async function waitForQuery(
  athena: AthenaPort,
  id: string,
  request: QueryRequest,
  context: QueryContext,
  wait: QueryWait,
): Promise<QueryStatus> {
  const { workGroup } = request;
  let waited = 0;
  for (let attempt = 0; ; attempt += 1) {
    let status: QueryStatus;
    try {
      status = await athena.getQueryState(id);
    } catch (error) {
      throw new Error(
        `cannot read the state of Athena query ${id} (workgroup ${workGroup}): ${describeError(error)}; ` +
          "check the function's role (athena:GetQueryExecution on the workgroup)",
        { cause: error },
      );
    }
    const reason = status.reason?.trim() || 'Athena gave no reason';
    switch (status.state) {
      case 'SUCCEEDED':
        return status;
      case 'FAILED':
      case 'CANCELLED':
        if (CUTOFF.test(reason)) throw new Error(cutoffMessage(id, request, context, reason));
        if (status.state === 'FAILED') {
          throw new Error(
            `Athena query ${id} failed: ${reason}. Check that the table ${context.table} matches the router's ` +
              'prediction logs (columns, partition projection on model and dt) and look at the query in the ' +
              `Athena console (workgroup ${workGroup}, query id ${id})`,
          );
        }
        throw new Error(
          `Athena query ${id} was cancelled: ${reason}. Someone or something stopped it (the Athena console, ` +
            `StopQueryExecution): check the query history of workgroup ${workGroup}`,
        );
      case 'QUEUED':
      case 'RUNNING':
        break;
    }
    const delay = POLL_DELAYS_MS[Math.min(attempt, POLL_DELAYS_MS.length - 1)];
    if (waited + delay > wait.maxWaitMs) {
      throw new Error(await timeoutMessage(athena, id, status.state, waited, workGroup));
    }
    await wait.sleep(delay);
    waited += delay;
  }
}

function cutoffMessage(id: string, request: QueryRequest, context: QueryContext, reason: string): string {
  const { model, day, maxScannedGb } = context;
  return (
    `Athena query ${id} was stopped by the bytes-scanned cutoff of workgroup ${request.workGroup}: ${reason}. ` +
    `The query reads one model's days up to ${day} (partitions model=${model}/dt=…), so first check in the Athena ` +
    `console that it scanned only those prefixes (partition projection on table ${context.table}); if the ` +
    `experiment's logs really are that large, raise routing.analysis.maxScannedGb (now ${maxScannedGb} GB) in config/models/${model}.yaml ` +
    'and redeploy the model stack'
  );
}

async function timeoutMessage(
  athena: AthenaPort,
  id: string,
  state: QueryState,
  waitedMs: number,
  workGroup: string,
): Promise<string> {
  let stopped: string;
  try {
    await athena.stopQuery(id);
    stopped = 'it has been stopped';
  } catch (error) {
    stopped = `stopping it failed too (${describeError(error)}): stop it in the Athena console`;
  }
  return (
    `Athena query ${id} was still ${state} after ${formatDuration(waitedMs)}; ${stopped}. A query on one day ` +
    `of logs takes seconds: check the query history of workgroup ${workGroup} for queued queries and the ` +
    "account's active-query quota"
  );
}

async function readPage(
  athena: AthenaPort,
  id: string,
  workGroup: string,
  token: string | undefined,
): Promise<ResultPage> {
  try {
    return await athena.getResults(id, token);
  } catch (error) {
    throw new Error(
      `cannot read the results of Athena query ${id}${token ? ' (a later page)' : ''}: ${describeError(error)}; ` +
        "check the function's role: athena:GetQueryResults on workgroup " +
        `${workGroup}, s3:GetObject on its results location and kms:Decrypt on the key that encrypts them`,
      { cause: error },
    );
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** 150_000 -> "2 min 30 s". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes === 0) return `${rest} s`;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}
