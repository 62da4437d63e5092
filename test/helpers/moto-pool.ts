import * as path from 'node:path';

/** What test/setup/global-setup.ts hands to the workers, through this environment variable. */
export const MOTO_ENV = 'MLOPS_TEST_MOTO_POOL';

export interface MotoPool {
  /** One moto endpoint per jest worker, in worker order. */
  readonly endpoints: readonly string[];
  /** Where a moto that exited or never started leaves `moto-<i>.exit` with its output. */
  readonly statusDir: string;
}

/**
 * Set by bench/moto-requests.ts: a folder where the moto servers write, when stopped, their request
 * counts per suite and per operation (`moto-<i>.json`, i: the server's place in the pool).
 */
export const MOTO_COUNT_ENV = 'MLOPS_TEST_MOTO_COUNT_DIR';

/**
 * python3's arguments to start moto on `ports` (one server each, state of its own):
 * test/setup/moto-server.py, moto's own server loaded once for all of them, with its request log
 * off and its lookups cached (see that file; bench/moto-request-cost.ts measures it). `-P`: a folder
 * named `moto/` in the working directory cannot shadow the package.
 */
export function motoServerArgs(ports: readonly number[]): string[] {
  const args = ['-P', path.resolve(__dirname, '../setup/moto-server.py'), ...ports.map(String)];
  const countDir = process.env[MOTO_COUNT_ENV];
  return countDir ? [...args, '--count', countDir] : args;
}
