/**
 * How a config or record error names the key it is about. Its own module, free of schemas, so that
 * code on the router's init path (core/routing/flags.ts, core/routing/prediction-record.ts) can use it
 * without loading core/gates/eval-report.ts, whose zod schemas are built when the module loads (~6 ms
 * of the router's cold-start init, issue 15).
 */

/** `eval_sets.golden_set.slice_accuracy["age 18-25"]`: dotted where a key is a plain name, quoted otherwise. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}
