import { IDENTIFIER, stringLiteral } from '../../lambdas/core/routing/athena-query';

describe('the SQL pieces the prediction-log queries share', () => {
  test('a quote is doubled, so it stays inside the literal', () => {
    expect(stringLiteral("x' OR '1'='1")).toBe("'x'' OR ''1''=''1'");
    expect(stringLiteral("o'brien''s")).toBe("'o''brien''''s'");
  });

  test.each([
    'logs"; DROP TABLE predictions; --',
    'logs.predictions',
    'Prediction_Logs',
    '',
    '1logs',
    'pre dictions',
    'prédictions',
    'a'.repeat(256),
  ])('refuses the identifier %j', (name) => {
    expect(IDENTIFIER.test(name)).toBe(false);
  });

  test.each(['_', 'prediction_logs', 'a'.repeat(255)])('accepts the identifier %j', (name) => {
    expect(IDENTIFIER.test(name)).toBe(true);
  });
});
