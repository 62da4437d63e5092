import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { scanDatasetFile } from '../../../lambdas/core/data/dataset-scan-worker';
import {
  DatasetScan,
  DatasetSchema,
  DatasetValidationResult,
  evaluateDataset,
  ScanProgress,
  scanDataset,
} from '../../../lambdas/core/data/dataset-validation';
import type { ModelConfig } from '../../../lambdas/core/contracts/config-schema';
import { CONFIG_DIR_OPTION, loadModel, toJsonLine } from '../context';
import { checkDatasetFile, STDIN, stdinChunks } from '../dataset-input';
import { CliIo, ExitCode, UsageError } from '../io';
import { plural } from '../../config/plural';

/** Used without --model: the schema's documented default. */
export const DEFAULT_MAX_DRIFT = 0.1;

interface Options {
  readonly reference?: string;
  readonly model?: string;
  readonly evalSet?: string;
  readonly maxDrift?: string;
  readonly configDir?: string;
  readonly json?: boolean;
}

/** Picks the eval set whose thresholds apply: --eval-set, else the one whose pin names this file. */
function pickEvalSet(model: ModelConfig, dataset: string, requested?: string) {
  const names = model.evalSets.map((s) => s.name).join(', ');
  if (requested) {
    const set = model.evalSets.find((s) => s.name === requested);
    if (!set) throw new UsageError(`model ${model.name} has no eval set "${requested}" (it has: ${names})`);
    return set;
  }
  const file = path.basename(dataset);
  const byPin = model.evalSets.find((s) => path.basename(s.dvcFile, '.dvc') === file);
  if (byPin) return byPin;
  if (model.evalSets.length === 1) return model.evalSets[0];
  throw new UsageError(`cannot tell which eval set ${file} is; pass --eval-set (one of: ${names})`);
}

function parseMaxDrift(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--max-drift must be a number from 0 to 1 (got "${raw}")`);
  return n;
}

/** Progress on an interactive terminal only: never in --json output or CI logs. */
function progressReporter(
  io: CliIo,
  label: string,
  enabled: boolean,
): ((p: ScanProgress) => void) | undefined {
  if (!enabled) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    io.stderr.write(
      `\r${label}: ${p.lines.toLocaleString('en-US')} lines, ${(p.bytes / 2 ** 20).toFixed(0)} MiB, ${p.violations} violations`,
    );
  };
}

async function scan(
  file: string,
  what: string,
  schema: Partial<DatasetSchema>,
  io: CliIo,
  showProgress: boolean,
) {
  if (file === STDIN) {
    const onStdinProgress = progressReporter(io, 'stdin', showProgress);
    try {
      return await scanDataset(await stdinChunks(io.stdin ?? process.stdin, what), schema, onStdinProgress);
    } finally {
      if (onStdinProgress) io.stderr.write('\r\x1b[K');
    }
  }
  try {
    if (!statSync(file).isFile()) throw new UsageError(`cannot read ${what} ${file}: not a regular file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`,
    );
  }
  const onProgress = progressReporter(io, path.basename(file), showProgress);
  try {
    return await scanDatasetFile(file, schema, {}, onProgress);
  } finally {
    if (onProgress) io.stderr.write('\r\x1b[K');
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function renderText(result: DatasetValidationResult, reference: DatasetScan): string {
  const lines = [
    `${result.valid ? 'VALID' : 'INVALID'}: ${result.evalSet}: ${plural(result.totalRows, 'row')}, ${plural(result.violations.total, 'violation')}, label drift ${result.jsDistance === null ? 'n/a' : result.jsDistance.toFixed(3)} (max ${result.threshold}) against ${plural(reference.totalRows, 'reference row')}`,
  ];
  for (const error of result.errors) lines.push(`  - ${error}`);
  const kinds = Object.entries(result.violations.counts).filter(([, n]) => n > 0);
  if (kinds.length > 0) lines.push(`  violations: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const ex of result.violations.examples.slice(0, 5))
    lines.push(`    line ${ex.line}: ${ex.kind}: ${ex.message}`);
  for (const drift of result.drift) {
    const movers = drift.topMovers
      .slice(0, 3)
      .map((m) => `'${m.value}' ${pct(m.referenceShare)} → ${pct(m.currentShare)}`);
    lines.push(
      `  drift ${drift.field}: ${drift.jsDistance.toFixed(3)}${movers.length ? `; moved most: ${movers.join(', ')}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function validateDataCommand(io: CliIo, dataset: string, opts: Options): Promise<ExitCode> {
  const maxDriftFlag = parseMaxDrift(opts.maxDrift);
  // Checked here rather than by commander, so that a mistyped option (`--ref`) is reported as unknown first.
  if (opts.reference === undefined) {
    throw new UsageError(
      'missing --reference <reference.jsonl>: the data the drift is measured against (e.g. the training sample)',
    );
  }
  if (dataset === STDIN && opts.reference === STDIN) {
    throw new UsageError('only one of the dataset and --reference can be standard input (-)');
  }
  // A missing or mistaken file is named before the config is read or an eval set is picked.
  checkDatasetFile(dataset, 'dataset');
  checkDatasetFile(opts.reference, 'reference');
  const model = opts.model ? loadModel(opts.configDir, opts.model).model : undefined;
  const evalSet = model ? pickEvalSet(model, dataset, opts.evalSet) : undefined;
  const schema: Partial<DatasetSchema> = model
    ? {
        requiredFields: model.dataValidation.requiredFields,
        maxTextLength: model.dataValidation.maxTextLength,
        allowedLabels: model.dataValidation.allowedLabels,
        categoricalFields: model.dataValidation.categoricalFields,
        maxExamples: model.dataValidation.maxExamples,
      }
    : {};
  const showProgress = Boolean(io.stderr.isTTY) && !opts.json && !process.env.CI;
  const current = await scan(dataset, 'dataset', schema, io, showProgress);
  const reference = await scan(opts.reference, 'reference', schema, io, showProgress);
  const name =
    evalSet?.name ?? (dataset === STDIN ? 'stdin' : path.basename(dataset).replace(/\.jsonl$/, ''));
  const maxDrift = maxDriftFlag ?? evalSet?.maxDrift ?? DEFAULT_MAX_DRIFT;
  const result = evaluateDataset(name, current, reference, {
    maxDrift,
    driftSignificance: model?.dataValidation.driftSignificance,
    minDriftRows: model?.dataValidation.minDriftRows,
  });
  io.stdout.write(opts.json ? toJsonLine(result) : renderText(result, reference));
  return result.valid ? ExitCode.Ok : ExitCode.CheckFailed;
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('validate-data')
    .description('Validate a JSONL eval set (schema, malformed lines) and its drift against a reference.')
    .argument('<dataset.jsonl>', 'the eval set to check (- for standard input)')
    .option(
      '-r, --reference <reference.jsonl>',
      'required: the reference the label and field distributions are compared with (- for standard input)',
    )
    .option('-m, --model <name>', "schema, eval set and drift threshold from this model's config")
    .option(
      '-e, --eval-set <name>',
      "which of the model's eval sets this is (default: the one whose pin names the file)",
    )
    .option(
      '--max-drift <distance>',
      `largest allowed Jensen–Shannon distance, 0..1 (default: the eval set's maxDrift, else ${DEFAULT_MAX_DRIFT})`,
    )
    .option(...CONFIG_DIR_OPTION)
    .option('--json', 'print one JSON document instead of text')
    .addHelpText(
      'after',
      '\nDrift is the Jensen–Shannon distance with base-2 logarithms (0 = same distribution, 1 = disjoint).\nExit codes: 0 valid, 1 the data failed a check, 2 bad usage or unreadable input.',
    )
    .action(async (dataset: string, opts: Options) => done(await validateDataCommand(io, dataset, opts)));
}
