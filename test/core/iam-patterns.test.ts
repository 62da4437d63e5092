import fc from 'fast-check';
import { patternMatches, patternsOverlap } from '../../lambdas/core/security/iam-patterns';

/** A reference matcher: IAM wildcards as a regular expression. */
function matches(pattern: string, name: string): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's').test(name);
}

const alphabet = fc.constantFrom('a', 'b', '-', '/');
const name = fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join(''));
const pattern = fc
  .array(fc.oneof(alphabet, fc.constantFrom('*', '?')), { maxLength: 8 })
  .map((cs) => cs.join(''));

describe('patternsOverlap', () => {
  test('a model prefix with a star covers the names of a model whose name extends it', () => {
    expect(patternsOverlap('mlops-document-classifier-*', 'mlops-document-classifier-v2-live')).toBe(true);
    expect(patternsOverlap('models/document-classifier/*', 'models/document-classifier-v2/runs/x')).toBe(
      false,
    );
  });

  test('fixed-length wildcards tell release ids from longer names', () => {
    expect(patternsOverlap('mlops-dc-????????', 'mlops-dc-v2-live')).toBe(false);
    expect(patternsOverlap('mlops-dc-????????', 'mlops-dc-0a1b2c3d')).toBe(true);
    expect(patternsOverlap('mlops-dc-????????-live', 'mlops-dc-v2-????????-live')).toBe(false);
    expect(patternsOverlap('mlops-dc-????????-live', 'mlops-dc-v2x-*-live')).toBe(true);
  });

  test('a string both patterns match is always found (no false "disjoint")', () => {
    fc.assert(
      fc.property(pattern, pattern, name, (a, b, s) => {
        if (matches(a, s) && matches(b, s)) expect(patternsOverlap(a, b)).toBe(true);
      }),
      { seed: 14, numRuns: 5000 },
    );
  });

  test('"overlap" always has a witness: checked exhaustively on short patterns', () => {
    // Two patterns of at most 3 symbols that overlap share a witness of at most 6 characters made
    // of their literals and one other character, so an exhaustive search decides the truth.
    const letters = ['a', 'b', 'z'];
    const witnesses: string[] = [''];
    for (let i = 0; i < witnesses.length && witnesses[i]!.length < 6; i++) {
      for (const c of letters) witnesses.push(witnesses[i]! + c);
    }
    const short = fc.array(fc.constantFrom('a', 'b', '*', '?'), { maxLength: 3 }).map((c) => c.join(''));
    fc.assert(
      fc.property(short, short, (a, b) => {
        const truth = witnesses.some((w) => matches(a, w) && matches(b, w));
        expect(patternsOverlap(a, b)).toBe(truth);
      }),
      { seed: 14, numRuns: 2000 },
    );
  });

  test('symmetric, and every pattern overlaps itself', () => {
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        expect(patternsOverlap(a, b)).toBe(patternsOverlap(b, a));
        expect(patternsOverlap(a, a)).toBe(true);
      }),
      { seed: 14, numRuns: 2000 },
    );
  });

  test('patternMatches treats the name literally', () => {
    expect(patternMatches('a*', 'abc')).toBe(true);
    expect(patternMatches('a?c', 'a*c')).toBe(true);
    expect(patternMatches('abc', 'a*')).toBe(false);
  });
});
