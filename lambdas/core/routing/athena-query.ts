/**
 * What the Athena (Trino) queries over the prediction log share: the identifier pattern and the
 * string-literal escape (ab-experiment.ts and drift-monitor.ts build their queries with them), and
 * the part of a `GetQueryResults` result set they read. Nothing in their SQL comes from a caller
 * unchecked: identifiers must match `IDENTIFIER`, string literals go through `stringLiteral`.
 */

/**
 * The part of Athena's `GetQueryResults` `ResultSet` the analyses read. Declared here so the core
 * stays free of the SDK; the SDK's `ResultSet` is assignable to it.
 */
export interface AthenaResultSet {
  readonly Rows?: readonly { readonly Data?: readonly { readonly VarCharValue?: string }[] }[];
  readonly ResultSetMetadata?: { readonly ColumnInfo?: readonly { readonly Name?: string }[] };
}

/**
 * Glue stores database and table names in lower case, and Athena accepts only letters, digits
 * and underscores in them (at most 255 characters). Anything else is refused, not quoted away.
 */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,254}$/;

/** A SQL string literal: quotes doubled, the only escape standard SQL (and Trino) knows. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
