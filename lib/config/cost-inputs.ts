/**
 * What a model's config costs to serve. The function lives in lambdas/core/cost.ts, where the
 * regression gate Lambda (which may not import lib/) uses it too; this module keeps the config
 * side's import path.
 */
export { servingDeployment } from '../../lambdas/core/cost';
