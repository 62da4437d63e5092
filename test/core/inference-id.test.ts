import fc from 'fast-check';
import {
  inferenceIdFor,
  isSendableInferenceId,
  MAX_INFERENCE_ID_LENGTH,
} from '../../lambdas/core/routing/inference-id';

describe('inferenceIdFor', () => {
  test('sends a Lambda request id (a UUID) as it is, so the prediction log and data capture share it', () => {
    const id = 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef';
    expect(inferenceIdFor(id)).toBe(id);
  });

  test('hashes an id InvokeEndpoint would refuse into 64 hex characters, the same every time', () => {
    for (const id of ['x'.repeat(65), ' leading space', 'tab\there', 'ünïcode', '']) {
      const sent = inferenceIdFor(id);
      expect(sent).toMatch(/^[0-9a-f]{64}$/);
      expect(inferenceIdFor(id)).toBe(sent);
    }
    expect(inferenceIdFor('x'.repeat(65))).not.toBe(inferenceIdFor('x'.repeat(66)));
  });

  test('whatever the request id, the InferenceId fits the API: 1 to 64 printable characters, no leading blank', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (requestId) => {
        const sent = inferenceIdFor(requestId);
        expect(sent.length).toBeGreaterThanOrEqual(1);
        expect(sent.length).toBeLessThanOrEqual(MAX_INFERENCE_ID_LENGTH);
        expect(sent).toMatch(/^\S[\x20-\x7e]*$/);
        expect(isSendableInferenceId(sent)).toBe(true);
      }),
    );
  });
});
