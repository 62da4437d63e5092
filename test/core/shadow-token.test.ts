import fc from 'fast-check';
import {
  CONTINUATION_TOKEN_LIMIT,
  decodeShadowToken,
  encodeShadowToken,
  ShadowTokenError,
  type ShadowState,
} from '../../lambdas/core/serving/shadow-token';

const base = {
  endpointName: 'mlops-document-classifier-live',
  productionConfigName: 'mlops-document-classifier-1a2b3c4d-live',
  shadowConfigName: 'mlops-document-classifier-9f8e7d6c-shadow',
  startedAtMs: 1_793_700_000_000,
  phaseStartedAtMs: 1_793_700_300_000,
  polls: 4,
};
const states: ShadowState[] = [
  { ...base, phase: 'adding' },
  { ...base, phase: 'observing', windowStartMs: 1_793_700_300_000, windowEndMs: 1_793_703_900_000 },
  { ...base, phase: 'restoring' },
];

describe('shadow continuation token', () => {
  test.each(states.map((s) => [s.phase, s] as const))(
    'the %s phase is a prefixed base64url token that decodes to the same state',
    (_phase, state) => {
      const token = encodeShadowToken(state);
      expect(token).toMatch(/^shadow\.[A-Za-z0-9_-]+$/);
      expect(decodeShadowToken(token)).toEqual(state);
    },
  );

  const sageMakerName = fc.stringMatching(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/).filter((n) => n.length <= 63);
  const time = fc.nat({ max: 4_102_444_800_000 });
  const stateArb: fc.Arbitrary<ShadowState> = fc
    .record({
      endpointName: sageMakerName,
      productionConfigName: sageMakerName,
      shadowConfigName: sageMakerName,
      startedAtMs: time,
      phaseStartedAtMs: time,
      polls: fc.nat(),
      phase: fc.constantFrom('adding', 'observing', 'restoring'),
      windowStartMs: time,
      windowLengthMs: fc.nat({ max: 20 * 3_600_000 }),
    })
    .map(({ phase, windowStartMs, windowLengthMs, ...rest }) =>
      phase === 'observing'
        ? { ...rest, phase, windowStartMs, windowEndMs: windowStartMs + windowLengthMs }
        : { ...rest, phase },
    );

  test('any state with SageMaker names fits the limit and round-trips', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        const token = encodeShadowToken(s);
        expect(token.length).toBeLessThanOrEqual(CONTINUATION_TOKEN_LIMIT);
        expect(decodeShadowToken(token)).toEqual(s);
      }),
    );
  });

  test("refuses to write a token over CodePipeline's 2048 characters", () => {
    // 255 three-byte characters per name: valid lengths, too many bytes.
    const wide = '索'.repeat(255);
    const state: ShadowState = {
      ...base,
      phase: 'adding',
      endpointName: wide,
      productionConfigName: wide,
      shadowConfigName: wide,
    };
    expect(() => encodeShadowToken(state)).toThrow(ShadowTokenError);
    expect(() => encodeShadowToken(state)).toThrow(
      /^shadow continuation token is 3\d{3} characters, over CodePipeline's limit of 2048; shorten the endpoint or config names$/,
    );
  });

  test('refuses to write an invalid state, naming the field', () => {
    expect(() => encodeShadowToken({ ...base, phase: 'adding', polls: -1 })).toThrow(
      'cannot write a shadow continuation token: polls: Too small: expected number to be >=0',
    );
    expect(() => encodeShadowToken({ ...base, phase: 'restoring', endpointName: '' })).toThrow(
      'cannot write a shadow continuation token: endpointName: Too small: expected string to have >=1 characters',
    );
    expect(() =>
      encodeShadowToken({ ...base, phase: 'observing', windowStartMs: 2_000, windowEndMs: 1_000 }),
    ).toThrow('cannot write a shadow continuation token: windowEndMs is before windowStartMs');
  });

  const retry = 'Retry the stage: it picks up the live endpoint where this run left it.';

  test('a foreign token is named as such', () => {
    expect(() => decodeShadowToken('canary.eyJ2IjoxfQ')).toThrow(
      'continuation token "canary.eyJ2IjoxfQ" was not written by the shadow action (expected it to start with ' +
        `"shadow."); was the action's Lambda function changed mid-run? ${retry}`,
    );
  });

  test('a corrupt token says so', () => {
    expect(() => decodeShadowToken('shadow.!!!')).toThrow(
      `shadow continuation token "shadow.!!!" is corrupt (not base64url-encoded JSON). ${retry}`,
    );
    expect(() => decodeShadowToken(`shadow.${Buffer.from('{"v":1').toString('base64url')}`)).toThrow(
      /^shadow continuation token "shadow\.[A-Za-z0-9_-]+" is corrupt \(not base64url-encoded JSON\)\. Retry the stage/,
    );
    const observingWithoutWindow = `shadow.${Buffer.from(
      JSON.stringify({ v: 1, ph: 'o', e: 'e', p: 'p', c: 'c', s: 1, f: 1, n: 0 }),
    ).toString('base64url')}`;
    expect(() => decodeShadowToken(observingWithoutWindow)).toThrow(
      'shadow continuation token is corrupt: windowStartMs: Invalid input: expected number, received undefined; ' +
        `windowEndMs: Invalid input: expected number, received undefined. ${retry}`,
    );
    const unknownPhase = `shadow.${Buffer.from(
      JSON.stringify({ v: 1, ph: 'x', e: 'e', p: 'p', c: 'c', s: 1, f: 1, n: 0 }),
    ).toString('base64url')}`;
    expect(() => decodeShadowToken(unknownPhase)).toThrow(/^shadow continuation token is corrupt: phase: /);
  });

  test('a token of another version says the action was redeployed', () => {
    const v2 = `shadow.${Buffer.from('{"v":2}').toString('base64url')}`;
    expect(() => decodeShadowToken(v2)).toThrow(
      'shadow continuation token has version 2, but this code reads version 1; the action was probably ' +
        `redeployed mid-run. ${retry}`,
    );
  });

  test('an over-long token is rejected before it is parsed', () => {
    expect(() => decodeShadowToken(`shadow.${'A'.repeat(CONTINUATION_TOKEN_LIMIT)}`)).toThrow(
      `shadow continuation token is 2055 characters, over the 2048 this action ever writes; it is corrupt. ${retry}`,
    );
  });

  test('decoding arbitrary strings either succeeds or throws ShadowTokenError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `shadow.${s}`),
          fc.json().map((j) => `shadow.${Buffer.from(j).toString('base64url')}`),
        ),
        (token) => {
          try {
            decodeShadowToken(token);
          } catch (error) {
            expect(error).toBeInstanceOf(ShadowTokenError);
          }
        },
      ),
    );
  });
});
