/**
 * A jest setup file for bench/moto-requests.ts: tells the worker's moto server (started by
 * test/setup/moto-server.py with --count) which test file its next requests come from.
 */
import { MOTO_ENV, type MotoPool } from '../../test/helpers/moto-pool';

beforeAll(async () => {
  const raw = process.env[MOTO_ENV];
  if (!raw) return;
  const pool = JSON.parse(raw) as MotoPool;
  const endpoint = pool.endpoints[(Number(process.env.JEST_WORKER_ID ?? '1') - 1) % pool.endpoints.length];
  const name = expect.getState().testPath ?? 'unknown';
  // The server may still be starting (the first suite of a worker): try for 30 s.
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${endpoint}/__mlops/suite?name=${encodeURIComponent(name)}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 40_000);
