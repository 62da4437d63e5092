/**
 * Writes a bench's measured table into a doc between two HTML-comment markers, so the doc shows
 * what the bench last measured and nothing else changes (docs/statistics.md holds several).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export function writeTableBetweenMarkers(doc: string, begin: string, end: string, table: string): void {
  const text = readFileSync(doc, 'utf8');
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`${doc} lacks the markers ${begin} ... ${end}`);
  writeFileSync(doc, `${text.slice(0, start + begin.length)}\n\n${table}\n\n${text.slice(stop)}`);
  console.log(`wrote the table into ${doc}`);
}
