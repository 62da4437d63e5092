/**
 * A handler runs with its function's environment, written into `process.env` before each
 * invocation (Lambda gives each function its own). Writing a key of `process.env` is a native call
 * of a few microseconds (reading one costs about as much), and a rehearsal invokes handlers
 * thousands of times with the same values, so only keys whose value differs from what was last
 * written here are written. So every write of such a key must go through `setProcessEnv` (the
 * handlers only read their environment).
 */
const written = new Map<string, string>();
let writtenTo: NodeJS.ProcessEnv | undefined;

/** `Object.assign(process.env, vars)`, skipping the keys that already have these values. */
export function setProcessEnv(vars: Readonly<Record<string, string>>): void {
  if (writtenTo !== process.env) {
    written.clear();
    writtenTo = process.env;
  }
  for (const key of Object.keys(vars)) {
    const value = vars[key]!;
    if (written.get(key) === value) continue;
    process.env[key] = value;
    written.set(key, value);
  }
}
