/**
 * The candidate share the analysis checks the observed split against. It comes from the current
 * model-version flag: a split changed during the analysed day trips the sample-ratio check, and
 * the analysis says so.
 */

export interface IntendedSplit {
  /** Share of users the flag sends to the candidate, 0 to 100. */
  readonly candidatePercent: number;
  /** Where it was read, for the report: e.g. `AppConfig flag mlops/prod/model-version (version 7)`. */
  readonly source: string;
}

/** Injected into the handler; flag.ts has the AppConfig implementation. */
export type ReadIntendedSplit = () => Promise<IntendedSplit>;

/**
 * The intended candidate share of a flag document, read loosely: only `killSwitch` and
 * `candidate.percent` matter here, so a flag that gains fields does not stop the analysis.
 * No candidate, or the kill switch on, means 0%.
 */
export function intendedSplitFromFlag(text: string, source: string): IntendedSplit {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `the ${source} is not JSON (${(error as Error).message}); the router cannot read it either: ` +
        'deploy a valid flag document',
      { cause: error },
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new Error(
      `the ${source} is ${Array.isArray(doc) ? 'an array' : String(doc)}, not a flag document (a JSON object); ` +
        'deploy a valid flag document',
    );
  }
  const flag = doc as { readonly killSwitch?: unknown; readonly candidate?: unknown };
  if (flag.killSwitch === true) return { candidatePercent: 0, source: `${source}, killSwitch on` };
  const candidate = flag.candidate;
  const percent =
    typeof candidate === 'object' && candidate !== null
      ? ((candidate as { readonly percent?: unknown }).percent ?? 0)
      : 0;
  if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
    throw new Error(
      `the ${source} has candidate.percent ${JSON.stringify(percent)}, not a percentage from 0 to 100; ` +
        'fix the flag document (the router refuses it too)',
    );
  }
  return { candidatePercent: percent, source };
}
