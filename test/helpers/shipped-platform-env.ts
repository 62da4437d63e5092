/** The folder test/setup/global-setup.ts makes for the run's one synth of the shipped config (shipped-platform.ts). */
export const SYNTH_ENV = 'MLOPS_TEST_SYNTH_DIR';
