/** lambdas/core/contracts/json-path.ts: how error messages name the key they are about. */
import { formatJsonPath } from '../../lambdas/core/contracts/json-path';
import { formatJsonPath as fromEvalReport } from '../../lambdas/core/gates/eval-report';

describe('formatJsonPath', () => {
  it.each([
    [[], '(top level)'],
    [['eval_sets', 'golden_set', 'accuracy'], 'eval_sets.golden_set.accuracy'],
    [
      ['eval_sets', 'golden_set', 'slice_accuracy', 'age 18-25'],
      'eval_sets.golden_set.slice_accuracy["age 18-25"]',
    ],
    [['endpoints', 0, 'weight'], 'endpoints[0].weight'],
    [[1, 'x'], '[1].x'],
    [['2fa'], '["2fa"]'],
    [[Symbol('s')], '["Symbol(s)"]'],
  ] as const)('%j reads %s', (path, expected) => {
    expect(formatJsonPath(path)).toBe(expected);
  });

  it('is the same function eval-report re-exports for its existing importers', () => {
    expect(fromEvalReport).toBe(formatJsonPath);
  });
});
