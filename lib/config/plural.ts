// Apart from problems.ts (which loads the YAML library), so that `mlops validate-data` counts rows without it.
/** `1 item`, `3,002 items`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
