/**
 * IAM resource patterns: `*` matches any run of characters (also `/` and `:`), `?` exactly one.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 * ("You can use wildcard characters (* and ?) within any ARN segment").
 *
 * `patternsOverlap` answers "is there one name both patterns match?": the question behind
 * "can this role touch that model's resources?" and "would these two models' names collide?".
 */

/** True when some string matches both IAM patterns. Exact strings are patterns without wildcards. */
export function patternsOverlap(a: string, b: string): boolean {
  const n = a.length;
  const m = b.length;
  // Memoised search over (position in a, position in b): the product of two small automata.
  const seen = new Map<number, boolean>();
  const visit = (i: number, j: number): boolean => {
    const key = i * (m + 1) + j;
    const cached = seen.get(key);
    if (cached !== undefined) return cached;
    seen.set(key, false); // a cycle cannot be the witness
    let result = false;
    if (i === n && j === m) result = true;
    else if (i < n && a[i] === '*') {
      // a's star matches nothing more, or swallows b's next character (or b's own star).
      result = visit(i + 1, j) || (j < m && visit(i, j + 1));
    } else if (j < m && b[j] === '*') {
      result = visit(i, j + 1) || (i < n && visit(i + 1, j));
    } else if (i < n && j < m) {
      result = (a[i] === '?' || b[j] === '?' || a[i] === b[j]) && visit(i + 1, j + 1);
    }
    seen.set(key, result);
    return result;
  };
  return visit(0, 0);
}

/** True when `name` (no wildcards) matches `pattern`. */
export function patternMatches(pattern: string, name: string): boolean {
  return patternsOverlap(pattern, name.replace(/[*?]/g, '\u0000'));
}
