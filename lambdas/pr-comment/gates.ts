/**
 * The Gates table of the PR comment: which pipeline action is which gate, and each gate's outcome,
 * either from CodePipeline's record of a failed run or from the run records a finished run left behind.
 */
import type { ActionExecutionDetail } from '@aws-sdk/client-codepipeline';
import type { GateOutcome } from '../core/gates/report';
import type { RunRecords } from './records';

/**
 * Pipeline action name → gate name shown in the comment, in pipeline order. The pipeline construct names
 * its actions with these keys so a failed run's actions can be told apart.
 */
export const PR_PIPELINE_GATES = {
  CodeQuality: 'code quality',
  DataValidation: 'data validation',
  ModelEvaluation: 'model evaluation',
  RegressionGate: 'regression',
  PrComment: 'pr comment',
} as const;

/** Name of a gate action in the PR pipeline. */
export type GateActionName = keyof typeof PR_PIPELINE_GATES;

/** A gate outcome with the full failure message (the table shows one line; the short comment shows all). */
export interface GateReport extends GateOutcome {
  /** Full text CodePipeline recorded for a failed action. */
  readonly message?: string;
  /** Link to the action's logs (CodeBuild build, Lambda logs), when CodePipeline has one. */
  readonly url?: string;
}

const isGateAction = (name: string): name is GateActionName => Object.hasOwn(PR_PIPELINE_GATES, name);

/**
 * Gate outcomes of a pipeline run from its action executions (ListActionExecutions). A gate that never ran
 * is `skipped`; an action that is not a gate appears only when it failed, so no failure goes unexplained.
 */
export function gatesFromActionExecutions(actions: readonly ActionExecutionDetail[]): GateReport[] {
  // A retried action has one execution per attempt: the latest one counts.
  const latest = new Map<string, ActionExecutionDetail>();
  for (const action of actions) {
    const name = action.actionName;
    if (!name) continue;
    const seen = latest.get(name);
    if (!seen || time(action) >= time(seen)) latest.set(name, action);
  }
  const rows: GateReport[] = [];
  let failedBefore: string | undefined;
  for (const [actionName, gate] of Object.entries(PR_PIPELINE_GATES)) {
    const action = latest.get(actionName);
    if (!action) {
      // The comment action that never ran is not news; every other gate that never ran is.
      if (actionName === 'PrComment') continue;
      rows.push({
        gate,
        verdict: 'skipped',
        detail: failedBefore ? `not run: ${failedBefore} failed` : 'not run',
      });
      continue;
    }
    const row = outcomeOf(gate, action);
    rows.push(row);
    if (row.verdict === 'fail') failedBefore ??= gate;
  }
  for (const [name, action] of latest) {
    if (!isGateAction(name) && action.status === 'Failed') rows.unshift(outcomeOf(name, action));
  }
  return rows;
}

function outcomeOf(gate: string, action: ActionExecutionDetail): GateReport {
  const result = action.output?.executionResult;
  const summary = result?.externalExecutionSummary?.trim();
  const url = result?.externalExecutionUrl;
  const link = url && /^https:\/\//.test(url) ? { url } : {};
  switch (action.status) {
    case 'Succeeded':
      return { gate, verdict: 'pass', detail: summary || 'passed', ...link };
    case 'Failed': {
      const message =
        result?.errorDetails?.message?.trim() || summary || 'failed (CodePipeline gave no reason)';
      return { gate, verdict: 'fail', detail: message, message, ...link };
    }
    case 'InProgress':
      return { gate, verdict: 'skipped', detail: 'still running when the run failed', ...link };
    default:
      return { gate, verdict: 'skipped', detail: 'abandoned: the run stopped before it finished', ...link };
  }
}

function time(action: ActionExecutionDetail): number {
  return (action.lastUpdateTime ?? action.startTime)?.getTime() ?? 0;
}

/**
 * Gate outcomes of a run that reached the PR comment action, from the records it wrote. Reaching this action
 * means every earlier action succeeded; a record that is missing anyway is shown as such, not guessed.
 */
export function gatesFromRecords(records: RunRecords): GateReport[] {
  const rows: GateReport[] = [
    {
      gate: PR_PIPELINE_GATES.CodeQuality,
      verdict: 'pass',
      detail: 'lint, type-check and unit tests passed',
    },
  ];
  const validation = records.dataValidation;
  if (validation.state === 'present') {
    rows.push({
      gate: PR_PIPELINE_GATES.DataValidation,
      verdict: validation.value.verdict,
      detail: validation.value.summary,
    });
  } else {
    rows.push(missingRow(PR_PIPELINE_GATES.DataValidation, validation));
  }
  const report = records.evalReport;
  if (report.state === 'present') {
    const sets = Object.entries(report.value.evalSets).map(
      ([name, m]) => `${name} (${m.rowCount.toLocaleString('en-US')} rows)`,
    );
    rows.push({
      gate: PR_PIPELINE_GATES.ModelEvaluation,
      verdict: 'pass',
      detail: `evaluated on ${sets.join(', ')}`,
    });
  } else {
    rows.push(missingRow(PR_PIPELINE_GATES.ModelEvaluation, report));
  }
  const decision = records.decision;
  if (decision.state !== 'present') rows.push(missingRow(PR_PIPELINE_GATES.RegressionGate, decision));
  // With a decision, renderPrComment adds the regression row from the result itself.
  return rows;
}

function missingRow(gate: string, record: { state: 'missing' | 'invalid'; where: string; problem?: string }) {
  const detail =
    record.state === 'missing'
      ? `no record of this run at ${record.where}`
      : `record at ${record.where} is unreadable: ${record.problem}`;
  return { gate, verdict: 'skipped' as const, detail };
}
