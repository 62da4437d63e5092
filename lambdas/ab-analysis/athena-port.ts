/**
 * The Athena calls the nightly A/B analysis makes, as a port: the handler depends on it, athena.ts
 * implements it over the SDK client, and tests fake it to produce the states a real query can reach.
 */
import type { AthenaResultSet } from '../core/routing/athena-query';

/** Athena's query execution states (`QueryExecutionState`). */
export const QUERY_STATES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type QueryState = (typeof QUERY_STATES)[number];

export function isQueryState(value: unknown): value is QueryState {
  return (QUERY_STATES as readonly unknown[]).includes(value);
}

/** What `StartQueryExecution` is given. */
export interface QueryRequest {
  readonly sql: string;
  /** The workgroup enforces the bytes-scanned cutoff and where (encrypted) results go. */
  readonly workGroup: string;
  /** `QueryExecutionContext.Database`. */
  readonly database: string;
}

/** The part of `GetQueryExecution` the handler reads. */
export interface QueryStatus {
  readonly state: QueryState;
  /** `Status.StateChangeReason` (or `AthenaError.ErrorMessage`), when Athena gives one. */
  readonly reason?: string;
  /** `Statistics.DataScannedInBytes`. */
  readonly dataScannedBytes?: number;
}

/** One page of `GetQueryResults`; only the first page starts with the header row. */
export interface ResultPage {
  readonly resultSet: AthenaResultSet;
  readonly nextToken?: string;
}

export interface AthenaPort {
  /** `StartQueryExecution`; resolves to the query execution id. */
  startQuery(request: QueryRequest): Promise<string>;
  /** `GetQueryExecution`. */
  getQueryState(queryExecutionId: string): Promise<QueryStatus>;
  /** One page of `GetQueryResults`: the first without a token, the next with the previous page's. */
  getResults(queryExecutionId: string, nextToken?: string): Promise<ResultPage>;
  /** `StopQueryExecution`: a query the handler stopped waiting for is not left running (and billing). */
  stopQuery(queryExecutionId: string): Promise<void>;
}
