/**
 * Bytes the nightly A/B analysis's flag-history query scans, before and after it reads only the
 * day when the previous night's experiment went on (lambdas/core/routing/experiment-window.ts).
 *
 *   npx tsx bench/ab-scan-bytes.ts [--requests-per-minute 57]
 *
 * One day of prediction-log lines at the stated traffic, serialized as the router writes them and
 * gzipped per 60-second Firehose buffer (lib/constructs/model-routing.ts: GZIP, 60 s / 5 MB), is
 * what one dt= partition holds; Athena reads whole partitions of a text table, compressed, so a
 * query over k days scans k times that. Seeded: a rerun prints the same figures.
 */
import { gzipSync } from 'node:zlib';
import { buildPredictionRecord, serializeRecord } from '../lambdas/core/routing/prediction-record';
import { seededRandom } from '../lambdas/core/statistics/gate-stats';

const args = process.argv.slice(2);
const flag = args.indexOf('--requests-per-minute');
const RATE = flag >= 0 ? Number(args[flag + 1]) : 57;
if (!(RATE > 0)) {
  console.error(`--requests-per-minute must be a positive number, got ${args[flag + 1]}`);
  process.exit(2);
}

const random = seededRandom(13);
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
const LABELS = ['billing', 'refund', 'technical', 'account', 'other'];
const start = Date.parse('2026-11-26T00:00:00.000Z');

let dayBytes = 0;
let lines = 0;
for (let minute = 0; minute < 1440; minute++) {
  let chunk = '';
  // Poisson-ish: the rate rounded with a random remainder.
  const n = Math.floor(RATE) + (random() < RATE - Math.floor(RATE) ? 1 : 0);
  for (let i = 0; i < n; i++) {
    const candidate = random() < 0.1;
    const failed = random() < 0.01;
    const requestId = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
    const record = buildPredictionRecord({
      requestId,
      receivedAt: new Date(start + minute * 60_000 + Math.floor(random() * 60_000)),
      model: 'document-classifier',
      modelVersion: candidate ? 'v13-3f2a9c1d0e8b' : 'v12-a1b2c3d4e5f6',
      variant: candidate ? 'candidate' : 'stable',
      endpoint: 'live',
      routedBy: 'split',
      activeFlags: ['experiment=ab', 'killSwitch=false', 'candidatePercent=10'],
      userBucket: Math.floor(random() * 10_000),
      inputHmac: hex(64),
      label: failed ? null : LABELS[Math.floor(random() * LABELS.length)],
      confidence: failed ? null : Math.round(random() * 1e6) / 1e6,
      latencyMs: Math.round(20 + random() * 200),
      error: failed ? 'ModelError: the endpoint answered 500' : null,
      inferenceId: requestId,
    });
    chunk += serializeRecord(record);
    lines++;
  }
  dayBytes += gzipSync(chunk).length;
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
console.log(`traffic: ${RATE} requests/min, ${lines.toLocaleString('en-US')} log lines a day`);
console.log(
  `one day of log (gzip JSON lines): ${mb(dayBytes)} (${(dayBytes / lines).toFixed(0)} bytes a line)`,
);
console.log(`flag history before: 35 days every night: ${mb(35 * dayBytes)}`);
console.log(`flag history after, a night that continues the experiment: 1 day: ${mb(dayBytes)}`);
console.log(
  `flag history after, a night with a flag or version change (or no previous report): 1 + 35 days: ${mb(36 * dayBytes)}`,
);
console.log(
  `30-night experiment, flag history in total: before ${mb(30 * 35 * dayBytes)}, after ${mb((36 + 29) * dayBytes)} (one change night, 29 continuing)`,
);
