/** The Athena port over the SDK client. */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import { isQueryState, type AthenaPort } from './athena-port';

export function athenaPort(client: AthenaClient): AthenaPort {
  return {
    async startQuery({ sql, workGroup, database }) {
      // No ClientRequestToken: a retry after a failed query must run it again, not get the failure back.
      const res = await client.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: workGroup,
          QueryExecutionContext: { Database: database },
        }),
      );
      if (!res.QueryExecutionId) throw new Error('StartQueryExecution answered without a QueryExecutionId');
      return res.QueryExecutionId;
    },
    async getQueryState(queryExecutionId) {
      const res = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId }));
      const status = res.QueryExecution?.Status;
      const state = status?.State;
      if (!isQueryState(state)) {
        throw new Error(`GetQueryExecution answered with the unknown state ${String(state)}`);
      }
      return {
        state,
        reason: status?.StateChangeReason ?? status?.AthenaError?.ErrorMessage,
        dataScannedBytes: res.QueryExecution?.Statistics?.DataScannedInBytes,
      };
    },
    async getResults(queryExecutionId, nextToken) {
      const res = await client.send(
        new GetQueryResultsCommand({ QueryExecutionId: queryExecutionId, NextToken: nextToken }),
      );
      return { resultSet: res.ResultSet ?? {}, nextToken: res.NextToken };
    },
    async stopQuery(queryExecutionId) {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: queryExecutionId }));
    },
  };
}
