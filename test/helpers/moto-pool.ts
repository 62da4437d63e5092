/** What test/setup/global-setup.ts hands to the workers, through this environment variable. */
export const MOTO_ENV = 'MLOPS_TEST_MOTO_POOL';

export interface MotoPool {
  /** One moto endpoint per jest worker, in worker order. */
  readonly endpoints: readonly string[];
  /** Where a moto that exited or never started leaves `moto-<i>.exit` with its output. */
  readonly statusDir: string;
}
