import fc from 'fast-check';
import {
  assign,
  ASSIGNMENT_BUCKETS,
  AssignmentError,
  bucketOf,
  MAX_USER_ID_LENGTH,
  type Assignment,
} from '../../lambdas/core/routing/assignment';
import type { FlagDocument } from '../../lambdas/core/routing/flags';
import { chiSquareSurvival, sampleRatioMismatch } from '../../lambdas/core/statistics/stats';

const EXPERIMENT = 'checkout-2026-11';

const flag: FlagDocument = {
  schemaVersion: 1,
  model: 'document-classifier',
  experiment: EXPERIMENT,
  stable: { modelVersion: '9e8d7c6b', endpoint: 'live' },
  candidate: { modelVersion: '4f1c2e9a', endpoint: 'live', percent: 10 },
  killSwitch: false,
  updatedBy: 'release-pipeline b59babff',
  updatedAt: '2026-11-27T10:00:00Z',
};

function withPercent(percent: number, base: FlagDocument = flag): FlagDocument {
  return { ...base, candidate: { modelVersion: '4f1c2e9a', endpoint: 'live', percent } };
}

const ids = (n: number, prefix = 'user-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A user id whose bucket in `experiment` is `bucket` (found by trying ids in order). */
function userInBucket(bucket: number, experiment = EXPERIMENT): string {
  for (let i = 0; i < 1_000_000; i++) {
    if (bucketOf(experiment, `probe-${i}`) === bucket) return `probe-${i}`;
  }
  throw new Error(`no probe id falls in bucket ${bucket}`);
}

/** Printable ASCII up to the limit, or any code points (astral ones count as 2 characters). */
const userId = fc.oneof(
  fc.string({ minLength: 1, maxLength: MAX_USER_ID_LENGTH }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: MAX_USER_ID_LENGTH / 2 }),
);
const experiment = fc.stringMatching(/^[a-z][a-z0-9]{0,8}(?:-[a-z0-9]{1,8}){0,3}$/);
/** A percent with at most 2 decimals, as the flag allows, as its number of hundredths. */
const hundredths = fc.integer({ min: 0, max: 10_000 });

describe('bucketOf', () => {
  // Computed independently with Python: int.from_bytes(hashlib.sha256(
  //   (experiment + "\0" + user_id).encode("utf-8")).digest()[:8], "big") % buckets.
  // A change here moves users between variants in production: do not update these to make a test pass.
  test.each([
    [EXPERIMENT, 'user-1', 10_000, 8800],
    [EXPERIMENT, 'user-2', 10_000, 5854],
    ['checkout-2026-12', 'user-1', 10_000, 1326],
    ['dc', 'Zoë 🙂 山田', 10_000, 9444],
    ['dc', 'a'.repeat(256), 10_000, 4446],
    [EXPERIMENT, 'user-1', 100, 0],
    [EXPERIMENT, 'user-1', 2 ** 32, 3771371632],
  ])('pins bucketOf(%p, %p, %p) = %p', (exp, user, buckets, expected) => {
    expect(bucketOf(exp, user, buckets)).toBe(expected);
  });

  test('is sticky and in range: the same input always gives the same bucket in 0..buckets-1', () => {
    fc.assert(
      fc.property(experiment, userId, fc.integer({ min: 1, max: 2 ** 32 }), (exp, user, buckets) => {
        const bucket = bucketOf(exp, user, buckets);
        expect(Number.isInteger(bucket)).toBe(true);
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(buckets);
        expect(bucketOf(exp, user, buckets)).toBe(bucket);
      }),
      { numRuns: 500 },
    );
  });

  test('defaults to 10,000 buckets', () => {
    expect(ASSIGNMENT_BUCKETS).toBe(10_000);
    fc.assert(
      fc.property(experiment, userId, (exp, user) => {
        expect(bucketOf(exp, user)).toBe(bucketOf(exp, user, 10_000));
      }),
    );
  });

  test('is uniform: 100,000 sequential ids over 100 coarse bins pass a chi-square test at 0.1%', () => {
    const counts = new Array<number>(100).fill(0);
    for (const id of ids(100_000)) counts[Math.floor(bucketOf(EXPERIMENT, id) / 100)] += 1;
    const { chiSquare, degreesOfFreedom } = sampleRatioMismatch(counts, new Array<number>(100).fill(1));
    // Upper 0.1% point of chi-square with 99 degrees of freedom (NIST/SEMATECH table), cross-checked
    // against the stats module so that a typo in either shows.
    const CRITICAL_99_DF_0_001 = 148.23;
    expect(degreesOfFreedom).toBe(99);
    expect(chiSquareSurvival(CRITICAL_99_DF_0_001, 99)).toBeCloseTo(0.001, 6);
    expect(chiSquare).toBeLessThan(CRITICAL_99_DF_0_001);
  });

  test('the uniformity check can fail: counts that fill only half of the bins are far over the critical value', () => {
    const counts = new Array<number>(100).fill(0);
    for (const id of ids(100_000)) counts[Math.floor(bucketOf(EXPERIMENT, id) / 200)] += 1;
    expect(sampleRatioMismatch(counts, new Array<number>(100).fill(1)).chiSquare).toBeGreaterThan(148.23);
  });

  test.each([
    [
      'empty',
      '',
      'user id must be 1 to 256 characters, got 0; send a non-empty id that stays the same for the user (hash a longer one first)',
    ],
    [
      '257 characters',
      'u'.repeat(257),
      'user id must be 1 to 256 characters, got 257; send a non-empty id that stays the same for the user (hash a longer one first)',
    ],
    [
      'a number',
      42,
      'user id must be a string, got number; send the user id as a string so the user keeps the same variant on every request',
    ],
    [
      'null',
      null,
      'user id must be a string, got null; send the user id as a string so the user keeps the same variant on every request',
    ],
  ])('GIVEN a user id that is %s THEN it is refused with a clear message', (_label, user, message) => {
    expect(() => bucketOf(EXPERIMENT, user as string)).toThrow(new AssignmentError(message));
    expect(() => assign(flag, user as string)).toThrow(new AssignmentError(message));
  });

  test('accepts a user id of exactly 256 characters', () => {
    expect(bucketOf(EXPERIMENT, 'u'.repeat(MAX_USER_ID_LENGTH))).toBeGreaterThanOrEqual(0);
  });

  test.each(['Checkout', 'a\0b', '', 'e'.repeat(64)])('GIVEN experiment %j THEN it is refused', (exp) => {
    expect(() => bucketOf(exp, 'user-1')).toThrow(
      new AssignmentError(
        `experiment must be a lower-case kebab-case name of at most 63 characters, got ${JSON.stringify(exp)}; ` +
          'it salts the assignment hash, see the flag document',
      ),
    );
  });

  test.each([0, 1.5, -1, 2 ** 32 + 1, Number.NaN])('GIVEN %p buckets THEN it is refused', (buckets) => {
    expect(() => bucketOf(EXPERIMENT, 'user-1', buckets)).toThrow(
      new AssignmentError(
        `bucketOf: buckets must be a whole number from 1 to 4294967296, got ${String(buckets)}`,
      ),
    );
  });
});

describe('assign', () => {
  test('GIVEN a split THEN the user gets the candidate exactly when the bucket is below percent x 100', () => {
    fc.assert(
      fc.property(hundredths, userId, (k, user) => {
        const result = assign(withPercent(k / 100), user);
        const bucket = bucketOf(EXPERIMENT, user);
        const expected: Assignment =
          bucket < k
            ? { variant: 'candidate', modelVersion: '4f1c2e9a', endpoint: 'live', bucket, reason: 'split' }
            : { variant: 'stable', modelVersion: '9e8d7c6b', endpoint: 'live', bucket, reason: 'split' };
        expect(result).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  test('GIVEN 0.07% (7.000000000000001 buckets in floating point) THEN bucket 6 is candidate and bucket 7 is not', () => {
    expect(assign(withPercent(0.07), userInBucket(6)).variant).toBe('candidate');
    expect(assign(withPercent(0.07), userInBucket(7)).variant).toBe('stable');
  });

  test('GIVEN 11.15% (1114.9999999999998 buckets) THEN bucket 1114 is candidate and bucket 1115 is not', () => {
    expect(assign(withPercent(11.15), userInBucket(1114)).variant).toBe('candidate');
    expect(assign(withPercent(11.15), userInBucket(1115)).variant).toBe('stable');
  });

  test('is sticky: the same flag and user always give the same answer', () => {
    fc.assert(
      fc.property(hundredths, experiment, userId, (k, exp, user) => {
        const doc = { ...withPercent(k / 100), experiment: exp };
        expect(assign(doc, user)).toEqual(assign(doc, user));
      }),
    );
  });

  test('widening keeps users: candidate at p1 implies candidate at every p2 >= p1', () => {
    fc.assert(
      fc.property(
        hundredths,
        hundredths,
        experiment,
        fc.array(userId, { minLength: 1, maxLength: 50 }),
        (a, b, exp, users) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const narrow = { ...withPercent(low / 100), experiment: exp };
          const wide = { ...withPercent(high / 100), experiment: exp };
          for (const user of users) {
            if (assign(narrow, user).variant === 'candidate')
              expect(assign(wide, user).variant).toBe('candidate');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('widening from 10% to 20% moves about another 10% of users and moves nobody back', () => {
    const users = ids(20_000);
    const at10 = users.map((u) => assign(withPercent(10), u).variant);
    const at20 = users.map((u) => assign(withPercent(20), u).variant);
    expect(users.filter((_, i) => at10[i] === 'candidate' && at20[i] === 'stable')).toEqual([]);
    const share10 = at10.filter((v) => v === 'candidate').length / users.length;
    const share20 = at20.filter((v) => v === 'candidate').length / users.length;
    // 4 standard errors of a proportion over 20,000 users.
    expect(Math.abs(share10 - 0.1)).toBeLessThan(4 * Math.sqrt((0.1 * 0.9) / 20_000));
    expect(Math.abs(share20 - 0.2)).toBeLessThan(4 * Math.sqrt((0.2 * 0.8) / 20_000));
  });

  test('GIVEN percent 0 THEN everyone gets stable; GIVEN 100 THEN everyone gets the candidate (reason split)', () => {
    fc.assert(
      fc.property(userId, (user) => {
        expect(assign(withPercent(0), user)).toMatchObject({
          variant: 'stable',
          modelVersion: '9e8d7c6b',
          reason: 'split',
        });
        expect(assign(withPercent(100), user)).toMatchObject({
          variant: 'candidate',
          modelVersion: '4f1c2e9a',
          reason: 'split',
        });
      }),
    );
  });

  test('GIVEN the kill switch THEN everyone gets stable, even at 100%, and the bucket is still reported', () => {
    const killed: FlagDocument = { ...withPercent(100), killSwitch: true };
    fc.assert(
      fc.property(userId, (user) => {
        expect(assign(killed, user)).toEqual({
          variant: 'stable',
          modelVersion: '9e8d7c6b',
          endpoint: 'live',
          bucket: bucketOf(EXPERIMENT, user),
          reason: 'kill-switch',
        });
      }),
    );
  });

  test('GIVEN no candidate THEN everyone gets stable on the endpoint the flag names (standby after a rollback)', () => {
    const afterRollback: FlagDocument = {
      ...flag,
      stable: { modelVersion: '9e8d7c6b', endpoint: 'standby' },
      candidate: null,
    };
    fc.assert(
      fc.property(userId, (user) => {
        expect(assign(afterRollback, user)).toEqual({
          variant: 'stable',
          modelVersion: '9e8d7c6b',
          endpoint: 'standby',
          bucket: bucketOf(EXPERIMENT, user),
          reason: 'no-candidate',
        });
      }),
    );
  });

  test('GIVEN a candidate on the standby endpoint THEN its users are sent there', () => {
    const doc: FlagDocument = {
      ...flag,
      candidate: { modelVersion: '4f1c2e9a', endpoint: 'standby', percent: 100 },
    };
    expect(assign(doc, 'user-1')).toMatchObject({ variant: 'candidate', endpoint: 'standby' });
  });
});

describe('independence across experiments', () => {
  /** Pearson's chi-square test of independence on a 2x2 table (1 degree of freedom, no continuity correction). */
  function independence(first: readonly boolean[], second: readonly boolean[]) {
    const n = first.length;
    const table = [
      [0, 0],
      [0, 0],
    ];
    first.forEach((a, i) => (table[a ? 1 : 0][second[i] ? 1 : 0] += 1));
    const rows = [table[0][0] + table[0][1], table[1][0] + table[1][1]];
    const cols = [table[0][0] + table[1][0], table[0][1] + table[1][1]];
    let chiSquare = 0;
    for (const r of [0, 1]) {
      for (const c of [0, 1]) {
        const expected = (rows[r] * cols[c]) / n;
        chiSquare += (table[r][c] - expected) ** 2 / expected;
      }
    }
    return { chiSquare, pValue: chiSquareSurvival(chiSquare, 1), agreement: (table[0][0] + table[1][1]) / n };
  }

  const users = ids(20_000);
  const inCandidate = (experimentName: string, percent: number) =>
    users.map(
      (u) => assign({ ...withPercent(percent), experiment: experimentName }, u).variant === 'candidate',
    );

  // Upper 0.1% point of chi-square with 1 degree of freedom.
  const CRITICAL_1_DF_0_001 = 10.828;

  test.each([
    ['checkout-2026-11', 'search-ranking-v2', 50],
    ['checkout-2026-11', 'checkout-2026-12', 30],
    ['a', 'b', 10],
  ])('%p and %p at %p%% are independent, and agree as often as chance predicts', (first, second, percent) => {
    const { chiSquare, pValue, agreement } = independence(
      inCandidate(first, percent),
      inCandidate(second, percent),
    );
    expect(chiSquareSurvival(CRITICAL_1_DF_0_001, 1)).toBeCloseTo(0.001, 6);
    expect(chiSquare).toBeLessThan(CRITICAL_1_DF_0_001);
    expect(pValue).toBeGreaterThan(0.001);
    const p = percent / 100;
    const chance = p * p + (1 - p) * (1 - p);
    expect(Math.abs(agreement - chance)).toBeLessThan(4 * Math.sqrt((chance * (1 - chance)) / users.length));
  });

  test('the independence test can fail: the same experiment name twice is perfectly dependent', () => {
    const { chiSquare, agreement } = independence(inCandidate(EXPERIMENT, 30), inCandidate(EXPERIMENT, 30));
    expect(agreement).toBe(1);
    expect(chiSquare).toBeGreaterThan(19_000);
  });
});
