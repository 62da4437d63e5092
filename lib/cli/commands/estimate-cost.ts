import type { Command } from 'commander';
import {
  CostComparison,
  CostEstimate,
  compareCost,
  estimateCost,
  formatMoney,
} from '../../../lambdas/core/monitoring/cost';
import { servingDeployment } from '../../../lambdas/core/monitoring/cost';
import { CONFIG_DIR_OPTION, loadModel, toJsonLine } from '../context';
import { CliIo, ExitCode, UsageError } from '../io';

interface Options {
  readonly model: string;
  readonly monthlyRequests?: string;
  readonly configDir?: string;
  readonly baselineConfig?: string;
  readonly json?: boolean;
}

function parseRequests(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--monthly-requests must be a whole number of at least 1 (got "${raw}")`);
  }
  return n;
}

function estimateFor(
  configDir: string | undefined,
  modelName: string,
  requests: number | undefined,
  option?: string,
): CostEstimate {
  const { config, model } = loadModel(configDir, modelName, option);
  return estimateCost(
    servingDeployment(model),
    config.platform.pricing,
    requests ?? model.cost.monthlyRequests,
  );
}

const pct = (p: number | null) =>
  p === null ? 'n/a (baseline costs nothing)' : `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;

function renderText(model: string, estimate: CostEstimate, comparison?: CostComparison): string {
  // Monthly amounts in cents, one column, one precision; per-request costs keep their significant digits.
  const money = (n: number, signed = false) => formatMoney(n, estimate.currency, { signed, cents: true });
  const fine = (n: number) => formatMoney(n, estimate.currency);
  const lines = [
    `${model}: ${money(estimate.monthly)} per month for ${estimate.monthlyRequests.toLocaleString('en-US')} requests (prices as of ${estimate.pricingAsOf})`,
    ...estimate.breakdown.map((l) => `  ${money(l.monthly).padStart(12)}  ${l.item}`),
    `  per request ${fine(estimate.perRequest)}, per 1k requests ${fine(estimate.per1kRequests)}`,
  ];
  if (comparison) {
    lines.push(
      `  vs baseline config ${money(comparison.baseline.monthly)}: ${money(comparison.deltaMonthly, true)} per month (${pct(comparison.deltaPct)})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function estimateCostCommand(io: CliIo, opts: Options): ExitCode {
  const requests = parseRequests(opts.monthlyRequests);
  const estimate = estimateFor(opts.configDir, opts.model, requests);
  const comparison = opts.baselineConfig
    ? compareCost(estimateFor(opts.baselineConfig, opts.model, requests, '--baseline-config'), estimate)
    : undefined;
  io.stdout.write(
    opts.json
      ? toJsonLine({ model: opts.model, ...estimate, comparison: comparison ?? null })
      : renderText(opts.model, estimate, comparison),
  );
  return ExitCode.Ok;
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('estimate-cost')
    .description("Estimate a model's monthly serving cost from its config and the pricing table.")
    .requiredOption('-m, --model <name>', 'model to estimate (a file in config/models/)')
    .option('-n, --monthly-requests <N>', "requests per month (default: the model's cost.monthlyRequests)")
    .option(...CONFIG_DIR_OPTION)
    .option(
      '--baseline-config <dir>',
      'compare with the same model in another config directory (e.g. a checkout of main)',
    )
    .option('--json', 'print one JSON document instead of text')
    .addHelpText(
      'after',
      '\nSageMaker models: live instances + the warm standby (always on) + the shadow variant for its window at each\nrelease, at 730 hours a month. Token models: average tokens per request × price per 1k tokens.\nExit codes: 0 estimated, 2 bad usage or config.',
    )
    .action((opts: Options) => done(estimateCostCommand(io, opts)));
}
