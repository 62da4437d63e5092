/**
 * The model-version flag: the AppConfig freeform JSON document the router reads to decide which
 * model version each user gets (see assignment.ts), and that release and rollback write.
 *
 * The zod schema is the authority: the router and every writer parse with it. The JSON Schema
 * given to AppConfig's JSON_SCHEMA validator (draft-04, the draft AppConfig accepts) is generated
 * from it, so the two cannot drift; it cannot express two rules, which only the zod schema checks
 * (see `flagDocumentJsonSchema`).
 */
import * as z from 'zod/mini';
import { formatJsonPath } from '../contracts/json-path';

/** The only `schemaVersion` this code reads. */
export const FLAG_SCHEMA_VERSION = 1;

/** Lower-case kebab case; no `\0`, so `experiment + "\0" + userId` is an unambiguous hash input. */
export const EXPERIMENT_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const EXPERIMENT_MAX_LENGTH = 63;

// zod/mini, as lambdas/core/contracts/router-env.ts says why: every schema names its own `error`.
const modelName = z.string({ error: 'a model name such as document-classifier' }).check(
  z.regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, {
    error: 'lower-case letters, digits and hyphens, starting with a letter, like document-classifier',
  }),
  z.maxLength(40, { error: 'a model name of at most 40 characters' }),
);

// As in serving-records.ts, so any version the serving state holds can be named here.
const modelVersion = z
  .string({ error: 'a model version (usually the commit), as a string' })
  .check(z.regex(/\S/, { error: 'a non-empty model version (usually the commit)' }));

const endpoint = z.enum(['live', 'standby'], { error: '"live" or "standby"' });

/** True when `percent` is the double nearest to a number with at most two decimals. */
export function hasAtMostTwoDecimals(percent: number): boolean {
  return Math.round(percent * 100) / 100 === percent;
}

const percent = z.number({ error: 'a percentage from 0 to 100, as a number' }).check(
  z.gte(0, { error: 'a percentage from 0 to 100' }),
  z.lte(100, { error: 'a percentage from 0 to 100' }),
  // A refinement, not multipleOf(0.01): see flagDocumentJsonSchema.
  z.refine(hasAtMostTwoDecimals, {
    error: 'a percentage with at most 2 decimals (0.01% is the finest step)',
  }),
);

const stableSchema = z
  .strictObject(
    {
      modelVersion,
      endpoint: endpoint.check(
        z.meta({ description: '"standby" after a rollback, until the next release.' }),
      ),
    },
    { error: 'an object with modelVersion and endpoint' },
  )
  .check(z.meta({ description: 'The version everyone gets unless the split puts them in the candidate.' }));

const candidateObject = z.strictObject(
  {
    modelVersion,
    endpoint,
    percent: percent.check(
      z.meta({
        description:
          'Share of users, 0-100 with at most 2 decimals. Widening it keeps every user already in the candidate.',
      }),
    ),
  },
  { error: 'null, or an object with modelVersion, endpoint and percent' },
);

const candidateSchema = z
  .nullable(candidateObject)
  .check(z.meta({ description: 'The version under test, or null when there is none.' }));

export const flagDocumentSchema = z
  .strictObject(
    {
      schemaVersion: z.literal(FLAG_SCHEMA_VERSION, {
        error: `${FLAG_SCHEMA_VERSION} (the only flag schema version this router reads)`,
      }),
      model: modelName,
      experiment: z.string({ error: 'an experiment name, as a string' }).check(
        z.regex(EXPERIMENT_PATTERN, {
          error: 'a lower-case kebab-case name such as checkout-2026-11 (letters, digits, single hyphens)',
        }),
        z.maxLength(EXPERIMENT_MAX_LENGTH, {
          error: `an experiment name of at most ${EXPERIMENT_MAX_LENGTH} characters`,
        }),
        z.meta({
          description:
            'Salt of the assignment hash. Changing it reshuffles every user between stable and candidate.',
        }),
      ),
      stable: stableSchema,
      candidate: candidateSchema,
      killSwitch: z
        .boolean({ error: 'true or false' })
        .check(z.meta({ description: 'true: everyone gets the stable version; the experiment is off.' })),
      updatedBy: z
        .string({ error: 'who changed the flag, as a string' })
        .check(z.regex(/\S/, { error: 'a non-empty name of who changed the flag' })),
      updatedAt: z.iso.datetime({
        offset: true,
        error: 'an ISO 8601 date-time with a time zone, like 2026-11-27T10:00:00Z',
      }),
    },
    { error: 'a JSON object' },
  )
  .check(
    z.superRefine((doc, ctx) => {
      const { candidate } = doc;
      if (candidate !== null && candidate.percent > 0 && candidate.modelVersion === doc.stable.modelVersion) {
        ctx.addIssue({
          code: 'custom',
          path: ['candidate', 'modelVersion'],
          input: candidate.modelVersion,
          message:
            `a version other than stable.modelVersion while candidate.percent is ${candidate.percent}; ` +
            'to serve one version, set candidate to null or its percent to 0',
        });
      }
    }),
    z.meta({ description: 'Model-version flag read by the router (schemaVersion 1).' }),
  );

export type FlagDocument = z.output<typeof flagDocumentSchema>;
export type FlagEndpoint = FlagDocument['stable']['endpoint'];

/**
 * JSON Schema (draft-04) for the AppConfig JSON_SCHEMA validator of the flag profile.
 *
 * Looser than `flagDocumentSchema` in exactly two ways, both checked by the router's parse:
 * - `candidate.modelVersion` equal to `stable.modelVersion` with percent > 0: JSON Schema cannot
 *   compare two values.
 * - percent with more than 2 decimals: `multipleOf: 0.01` is left out because validators that
 *   divide in floating point (ajv 6 by default, Python's jsonschema) reject 1363 of the 10,001 valid
 *   values (0.07, 1.15, ...); blocking a legitimate deployment is worse than a rule the router checks.
 */
export function flagDocumentJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(flagDocumentSchema, { target: 'draft-04', io: 'input' }) as Record<string, unknown>;
}

/** Thrown when a flag document does not parse; the message lists every problem with its JSON path. */
export class FlagDocumentError extends Error {
  override readonly name = 'FlagDocumentError';
}

/**
 * Parses the flag document's text (as AppConfig returns it). `label` names the document in every
 * message, e.g. `AppConfig ml-platform/document-classifier-flag version 7`.
 * @throws FlagDocumentError naming the JSON path, the value found and what is allowed.
 */
export function parseFlagDocument(text: string, label: string): FlagDocument {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    throw new FlagDocumentError(
      `${label} is not JSON (${(error as Error).message}); fix the document and deploy it again`,
    );
  }
  const parsed = flagDocumentSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.flatMap(describeIssue);
  throw new FlagDocumentError(
    `${label} is not a valid flag document: ${problems.join('; ')}; fix the document and deploy it again`,
  );
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    const allowed = knownKeysAt(issue.path);
    return issue.keys.map(
      (key) => `${formatJsonPath([...issue.path, key])}: unknown key (expected one of ${allowed.join(', ')})`,
    );
  }
  const where = formatJsonPath(issue.path);
  if (issue.input === undefined) return [`${where}: missing (expected ${issue.message})`];
  return [`${where}: invalid value (got ${showValue(issue.input)}, expected ${issue.message})`];
}

function knownKeysAt(path: readonly PropertyKey[]): string[] {
  if (path.length === 0) return Object.keys(flagDocumentSchema.shape);
  if (path[0] === 'stable') return Object.keys(stableSchema.shape);
  return Object.keys(candidateObject.shape);
}

/** The value as written in the document, cut short so one bad blob cannot flood the message. */
function showValue(value: unknown): string {
  // JSON.parse turns 1e400 into Infinity, which JSON.stringify would show as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
