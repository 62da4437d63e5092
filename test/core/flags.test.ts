import Ajv from 'ajv';
import draft04MetaSchema from 'ajv/lib/refs/json-schema-draft-04.json';
import fc from 'fast-check';
import {
  FLAG_SCHEMA_VERSION,
  FlagDocumentError,
  flagDocumentJsonSchema,
  flagDocumentSchema,
  hasAtMostTwoDecimals,
  parseFlagDocument,
  type FlagDocument,
} from '../../lambdas/core/routing/flags';

const LABEL = 'AppConfig ml-platform/document-classifier-flag version 7';

const flag: FlagDocument = {
  schemaVersion: FLAG_SCHEMA_VERSION,
  model: 'document-classifier',
  experiment: 'document-classifier-2026-11',
  stable: { modelVersion: '9e8d7c6b', endpoint: 'live' },
  candidate: { modelVersion: '4f1c2e9a', endpoint: 'live', percent: 12.5 },
  killSwitch: false,
  updatedBy: 'release-pipeline b59babff',
  updatedAt: '2026-11-27T10:00:00Z',
};

function parse(doc: unknown): FlagDocument {
  return parseFlagDocument(JSON.stringify(doc), LABEL);
}

function problemsOf(doc: unknown): string {
  try {
    parse(doc);
  } catch (error) {
    expect(error).toBeInstanceOf(FlagDocumentError);
    return (error as Error).message;
  }
  throw new Error('expected the document to be rejected');
}

const invalid = (problems: string) =>
  `${LABEL} is not a valid flag document: ${problems}; fix the document and deploy it again`;

describe('parseFlagDocument', () => {
  test('GIVEN a complete document THEN it parses to the same object', () => {
    expect(parse(flag)).toEqual(flag);
  });

  test('GIVEN no candidate, a standby stable version after a rollback, or the kill switch THEN each parses', () => {
    const afterRollback = {
      ...flag,
      stable: { modelVersion: '9e8d7c6b', endpoint: 'standby' },
      candidate: null,
    };
    expect(parse(afterRollback)).toEqual(afterRollback);
    expect(parse({ ...flag, killSwitch: true }).killSwitch).toBe(true);
  });

  test('GIVEN a byte-order mark THEN it is ignored', () => {
    expect(parseFlagDocument(`\uFEFF${JSON.stringify(flag)}`, LABEL)).toEqual(flag);
  });

  test('GIVEN text that is not JSON THEN the message says so and what to do', () => {
    expect(() => parseFlagDocument('{"schemaVersion": 1,', LABEL)).toThrow(
      new FlagDocumentError(
        `${LABEL} is not JSON (${jsonSyntaxMessage('{"schemaVersion": 1,')}); fix the document and deploy it again`,
      ),
    );
  });

  test('GIVEN the candidate is the stable version with percent > 0 THEN it is rejected at candidate.modelVersion', () => {
    const doc = { ...flag, candidate: { ...flag.candidate, modelVersion: '9e8d7c6b', percent: 0.01 } };
    expect(problemsOf(doc)).toBe(
      invalid(
        'candidate.modelVersion: invalid value (got "9e8d7c6b", expected a version other than ' +
          'stable.modelVersion while candidate.percent is 0.01; to serve one version, set candidate ' +
          'to null or its percent to 0)',
      ),
    );
  });

  test('GIVEN the candidate is the stable version at percent 0 THEN it is accepted (a parked candidate)', () => {
    const doc = { ...flag, candidate: { ...flag.candidate, modelVersion: '9e8d7c6b', percent: 0 } };
    expect(parse(doc)).toEqual(doc);
  });

  test('GIVEN unknown keys at the top, in stable and in candidate THEN each is named with the allowed keys', () => {
    const doc = {
      ...flag,
      percent: 10,
      stable: { ...flag.stable, weight: 1 },
      candidate: { ...flag.candidate, precent: 10 },
    };
    expect(problemsOf(doc)).toBe(
      invalid(
        [
          'stable.weight: unknown key (expected one of modelVersion, endpoint)',
          'candidate.precent: unknown key (expected one of modelVersion, endpoint, percent)',
          'percent: unknown key (expected one of schemaVersion, model, experiment, stable, candidate, ' +
            'killSwitch, updatedBy, updatedAt)',
        ].join('; '),
      ),
    );
  });

  test('GIVEN a "__proto__" key THEN it is an unknown key, not a prototype change', () => {
    const text = JSON.stringify(flag).replace('{', '{"__proto__": {"killSwitch": true},');
    expect(() => parseFlagDocument(text, LABEL)).toThrow(
      invalid(
        '__proto__: unknown key (expected one of schemaVersion, model, experiment, stable, candidate, ' +
          'killSwitch, updatedBy, updatedAt)',
      ),
    );
  });

  test('GIVEN several problems THEN every one is listed with its JSON path and the value found', () => {
    const { killSwitch: _dropped, ...withoutKillSwitch } = flag;
    const doc = {
      ...withoutKillSwitch,
      schemaVersion: 2,
      experiment: 'Checkout_2026',
      stable: { modelVersion: '  ', endpoint: 'blue' },
      candidate: 'none',
      updatedAt: '2026-11-27 10:00',
    };
    expect(problemsOf(doc)).toBe(
      invalid(
        [
          'schemaVersion: invalid value (got 2, expected 1 (the only flag schema version this router reads))',
          'experiment: invalid value (got "Checkout_2026", expected a lower-case kebab-case name such as ' +
            'checkout-2026-11 (letters, digits, single hyphens))',
          'stable.modelVersion: invalid value (got "  ", expected a non-empty model version (usually the commit))',
          'stable.endpoint: invalid value (got "blue", expected "live" or "standby")',
          'candidate: invalid value (got "none", expected null, or an object with modelVersion, endpoint and percent)',
          'killSwitch: missing (expected true or false)',
          'updatedAt: invalid value (got "2026-11-27 10:00", expected an ISO 8601 date-time with a time zone, ' +
            'like 2026-11-27T10:00:00Z)',
        ].join('; '),
      ),
    );
  });

  test.each([
    [12.345, 'a percentage with at most 2 decimals (0.01% is the finest step)'],
    [0.001, 'a percentage with at most 2 decimals (0.01% is the finest step)'],
    [100.01, 'a percentage from 0 to 100'],
    [-0.01, 'a percentage from 0 to 100'],
    ['10', 'a percentage from 0 to 100, as a number'],
  ])('GIVEN candidate.percent %p THEN it is rejected', (percent, expected) => {
    const doc = { ...flag, candidate: { ...flag.candidate, percent } };
    expect(problemsOf(doc)).toBe(
      invalid(`candidate.percent: invalid value (got ${JSON.stringify(percent)}, expected ${expected})`),
    );
  });

  test('GIVEN a percent of 1e400 THEN the message shows Infinity, not null', () => {
    const text = JSON.stringify(flag).replace('"percent":12.5', '"percent":1e400');
    expect(() => parseFlagDocument(text, LABEL)).toThrow(
      invalid(
        'candidate.percent: invalid value (got Infinity, expected a percentage from 0 to 100, as a number)',
      ),
    );
  });

  test('every percentage with at most 2 decimals from 0 to 100 is accepted, as written in JSON', () => {
    const rejected: string[] = [];
    for (let k = 0; k <= 10_000; k++) {
      const text = (k / 100).toFixed(2);
      const doc = JSON.parse(JSON.stringify(flag).replace('"percent":12.5', `"percent":${text}`));
      if (!flagDocumentSchema.safeParse(doc).success) rejected.push(text);
    }
    expect(rejected).toEqual([]);
  });

  test('a percent with a third decimal, or any other stray digit, is rejected', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99_999 }),
        fc.integer({ min: 1, max: 9 }),
        (hundredths, extra) => {
          const percent = Number(
            `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}${extra}`,
          );
          expect(hasAtMostTwoDecimals(percent)).toBe(false);
        },
      ),
    );
    expect(hasAtMostTwoDecimals(12.34000000000001)).toBe(false);
  });

  test.each(['checkout', 'a', 'checkout-2026-11', 'x9-y8'])(
    'GIVEN experiment %p THEN it is accepted',
    (name) => {
      expect(parse({ ...flag, experiment: name }).experiment).toBe(name);
    },
  );

  test.each(['Checkout', 'checkout--a', '-checkout', 'checkout-', '9lives', 'a_b', 'a b', ''])(
    'GIVEN experiment %p THEN it is rejected',
    (name) => {
      expect(problemsOf({ ...flag, experiment: name })).toBe(
        invalid(
          `experiment: invalid value (got ${JSON.stringify(name)}, expected a lower-case kebab-case name ` +
            'such as checkout-2026-11 (letters, digits, single hyphens))',
        ),
      );
    },
  );

  test('GIVEN an experiment of 64 characters THEN it is rejected; 63 is accepted', () => {
    expect(parse({ ...flag, experiment: 'e'.repeat(63) }).experiment).toHaveLength(63);
    expect(problemsOf({ ...flag, experiment: 'e'.repeat(64) })).toBe(
      invalid(
        `experiment: invalid value (got "${'e'.repeat(56)}..., expected an experiment name of at most 63 characters)`,
      ),
    );
  });

  test('GIVEN a JSON array or null THEN the top level is named', () => {
    expect(problemsOf([flag])).toBe(
      invalid(
        '(top level): invalid value (got [{"schemaVersion":1,"model":"document-classifier","experi..., ' +
          'expected a JSON object)',
      ),
    );
    expect(problemsOf(null)).toBe(invalid('(top level): invalid value (got null, expected a JSON object)'));
  });
});

// -------------------------------------------------------------------------------------------------
// The JSON Schema for AppConfig's validator
// -------------------------------------------------------------------------------------------------

/** Keywords of JSON Schema draft-04 (validation and metadata). Anything else AppConfig would ignore. */
const DRAFT_04_KEYWORDS = new Set([
  '$schema',
  'id',
  '$ref',
  'title',
  'description',
  'default',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'additionalItems',
  'items',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxProperties',
  'minProperties',
  'required',
  'additionalProperties',
  'definitions',
  'properties',
  'patternProperties',
  'dependencies',
  'enum',
  'type',
  'format',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
]);

function keywordsOf(schema: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) schema.forEach((s) => keywordsOf(s, out));
  else if (schema !== null && typeof schema === 'object') {
    for (const [key, value] of Object.entries(schema)) {
      out.add(key);
      // Children of these are names, not keywords.
      if (key === 'properties' || key === 'definitions' || key === 'patternProperties') {
        Object.values(value as object).forEach((child) => keywordsOf(child, out));
      } else if (key !== 'enum' && key !== 'required' && key !== 'default') keywordsOf(value, out);
    }
  }
  return out;
}

/** ajv 6 in draft-04 mode: the last ajv that validates draft-04 without a plugin. */
function draft04Validator() {
  const ajv = new Ajv({ schemaId: 'id', meta: false, format: 'full', allErrors: true });
  ajv.addMetaSchema(draft04MetaSchema);
  return ajv;
}

describe('flagDocumentJsonSchema', () => {
  const schema = flagDocumentJsonSchema();
  const ajv = draft04Validator();
  const validate = ajv.compile(schema);

  test('is a valid draft-04 schema that uses draft-04 keywords only', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(ajv.validateSchema(schema)).toBe(true);
    expect([...keywordsOf(schema)].filter((k) => !DRAFT_04_KEYWORDS.has(k))).toEqual([]);
  });

  test("fits AppConfig's 32,768-character limit on a validator's content", () => {
    expect(JSON.stringify(schema).length).toBeLessThan(32_768);
  });

  test('accepts the example document and rejects unknown keys', () => {
    expect(validate(flag)).toBe(true);
    expect(validate({ ...flag, extra: 1 })).toBe(false);
    expect(validate({ ...flag, candidate: { ...flag.candidate, extra: 1 } })).toBe(false);
  });

  test('accepts every 2-decimal percent, which multipleOf 0.01 in floating point would not', () => {
    const rejected = [];
    for (let k = 0; k <= 10_000; k++) {
      const percent = k / 100;
      if (!validate({ ...flag, candidate: { ...flag.candidate, percent } })) rejected.push(percent);
    }
    expect(rejected).toEqual([]);
    // The reason multipleOf is left out: ajv's own check rejects legitimate values such as 1.15.
    const withMultipleOf = draft04Validator().compile({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'number',
      multipleOf: 0.01,
    });
    expect(withMultipleOf(1.15)).toBe(false);
  });

  test('agrees with the zod schema on generated documents, except for the two rules it cannot express', () => {
    const seen = { valid: 0, onlyZodRules: 0, invalid: 0 };
    fc.assert(
      fc.property(flagDocumentArbitrary, (generated) => {
        // As AppConfig and the router see it: JSON text.
        const doc: unknown = JSON.parse(JSON.stringify(generated));
        const parsed = flagDocumentSchema.safeParse(doc);
        const zodOnly = parsed.success ? [] : parsed.error.issues.filter((i) => i.code === 'custom');
        const structural = parsed.success ? [] : parsed.error.issues.filter((i) => i.code !== 'custom');
        const expected = structural.length === 0;
        if (validate(doc) !== expected) {
          throw new Error(
            `JSON Schema says ${!expected}, zod's structural rules say ${expected} for ${JSON.stringify(doc)}: ` +
              `${JSON.stringify(parsed.success ? validate.errors : parsed.error.issues)}`,
          );
        }
        for (const issue of zodOnly) expect(ZOD_ONLY_RULES).toContain(issue.path.join('.'));
        if (parsed.success) seen.valid++;
        else if (expected) seen.onlyZodRules++;
        else seen.invalid++;
      }),
      { numRuns: 5000 },
    );
    // The generator must exercise all three outcomes, or the agreement means little.
    expect(seen.valid).toBeGreaterThan(300);
    expect(seen.onlyZodRules).toBeGreaterThan(100);
    expect(seen.invalid).toBeGreaterThan(300);
  });
});

/** Where the zod-only rules report: the 2-decimal rule and the candidate-is-not-stable rule. */
const ZOD_ONLY_RULES = ['candidate.percent', 'candidate.modelVersion'];

function jsonSyntaxMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a syntax error');
}

// -------------------------------------------------------------------------------------------------
// Generators: valid documents, and documents with one or more mutations
// -------------------------------------------------------------------------------------------------

const kebab = fc.stringMatching(/^[a-z][a-z0-9]{0,8}(?:-[a-z0-9]{1,8}){0,3}$/);
const modelName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/);
const version = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{8}$/),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /\S/.test(s)),
);
const endpointName = fc.constantFrom('live', 'standby');
const twoDecimalPercent = fc.integer({ min: 0, max: 10_000 }).map((k) => k / 100);
const isoTime = fc.oneof(
  fc
    .date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date('2099-12-31T23:59:59Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
  fc.constantFrom('2026-11-27T10:00:00+01:00', '2026-11-27T10:00:00.5-05:30', '2028-02-29T23:59:59Z'),
);

const validDocument = fc
  .record({
    schemaVersion: fc.constant(1),
    model: modelName,
    experiment: kebab,
    stable: fc.record({ modelVersion: version, endpoint: endpointName }),
    candidate: fc.option(
      fc.record({ modelVersion: version, endpoint: endpointName, percent: twoDecimalPercent }),
      {
        nil: null,
      },
    ),
    killSwitch: fc.boolean(),
    updatedBy: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => /\S/.test(s)),
    updatedAt: isoTime,
  })
  .filter(
    (d) =>
      d.candidate === null || d.candidate.percent === 0 || d.candidate.modelVersion !== d.stable.modelVersion,
  );

const NAME_MISSES = [
  '',
  'a',
  'A',
  'Checkout',
  'a--b',
  'a-',
  '-a',
  '9a',
  'a_b',
  'a b',
  'e'.repeat(40),
  'e'.repeat(41),
];
const VERSION_MISSES = ['', ' ', '\t', 'x', 7, null];
const ENDPOINT_MISSES = ['live', 'standby', 'Live', 'standby ', 'shadow', ''];

/** For each field, values at the edges of its rules: some valid, most not. */
const NEAR_MISSES: readonly (readonly [readonly string[], readonly unknown[]])[] = [
  [['schemaVersion'], [1, 2, 0, '1', null]],
  [['model'], NAME_MISSES],
  [['experiment'], [...NAME_MISSES, 'e'.repeat(63), 'e'.repeat(64), 'checkout-2026-11']],
  [['stable'], [null, {}, [], 'live']],
  [['stable', 'modelVersion'], VERSION_MISSES],
  [['stable', 'endpoint'], ENDPOINT_MISSES],
  [['candidate'], [null, {}, [], 'none']],
  [['candidate', 'modelVersion'], VERSION_MISSES],
  [['candidate', 'endpoint'], ENDPOINT_MISSES],
  [
    ['candidate', 'percent'],
    [0, 100, 100.01, -0.01, 12.345, 0.07, 1.15, 99.99, 0.001, '5', null],
  ],
  [['killSwitch'], [true, false, 'true', 0, null]],
  [['updatedBy'], ['', ' ', 'x', 5]],
  [
    ['updatedAt'],
    [
      '2026-11-27T10:00:00',
      '2026-11-27T10:00:00+01:00',
      '2026-11-27T10:00:00.123456789-05:30',
      '2026-02-30T10:00:00Z',
      '2028-02-29T10:00:00Z',
      '2027-02-29T10:00:00Z',
      '2026-11-27t10:00:00z',
      '2026-11-27 10:00:00Z',
      '2026-11-27T24:00:00Z',
      '2026-12-31T23:59:60Z',
      '2026-11-27T10:00:00+0100',
      '2026-11-27',
    ],
  ],
];
const PATHS = NEAR_MISSES.map(([path]) => path);

type Mutation = (doc: Record<string, unknown>) => void;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...NEAR_MISSES).chain(([path, values]) =>
      fc.constantFrom(...values).map(
        (value): Mutation =>
          (doc) =>
            setAt(doc, path, value),
      ),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...PATHS),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.double({ min: -1, max: 101, noNaN: true })),
      )
      .map(
        ([path, value]): Mutation =>
          (doc) =>
            setAt(doc, path, value),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...PATHS).map(
      (path): Mutation =>
        (doc) =>
          deleteAt(doc, path),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom([], ['stable'], ['candidate']),
        fc.string({ maxLength: 8 }),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map(
        ([path, key, value]): Mutation =>
          (doc) =>
            setAt(doc, [...path, key], value),
      ),
  },
  {
    // The cross-field rule: the candidate names the stable version.
    weight: 1,
    arbitrary: twoDecimalPercent.map((percent): Mutation => (doc) => {
      const stable = doc.stable as Record<string, unknown> | null | undefined;
      if (stable !== null && typeof stable === 'object') {
        doc.candidate = { modelVersion: stable.modelVersion, endpoint: 'live', percent };
      }
    }),
  },
);

const flagDocumentArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: validDocument, weight: 1 },
  {
    arbitrary: fc
      .tuple(validDocument, fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([doc, mutations]) => {
        const copy = structuredClone(doc) as Record<string, unknown>;
        for (const mutate of mutations) mutate(copy);
        return copy;
      }),
    weight: 3,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 },
);

function setAt(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node: Record<string, unknown> = doc;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) return;
    node = next as Record<string, unknown>;
  }
  // defineProperty, so that a generated "__proto__" key becomes an own key as JSON.parse makes it.
  Object.defineProperty(node, path[path.length - 1], {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function deleteAt(doc: Record<string, unknown>, path: readonly string[]): void {
  const parent = path.length === 1 ? doc : (doc[path[0]] as Record<string, unknown> | null);
  if (parent !== null && typeof parent === 'object') delete parent[path[path.length - 1]];
}
