import fc from 'fast-check';
import { CONTINUATION_TOKEN_LIMIT } from '../../lambdas/core/serving/canary';
import {
  PromotionTokenError,
  decodePromotionToken,
  encodePromotionToken,
  type PromotionWaitState,
} from '../../lambdas/core/serving/promotion-token';

describe('promotion continuation token', () => {
  const state: PromotionWaitState = {
    standbyEndpoint: 'mlops-document-classifier-standby',
    standbyConfigName: 'mlops-document-classifier-0b7e3f1a-standby',
    startedAtMs: 1_793_612_100_000,
    polls: 3,
  };

  test('is prefixed base64url and decodes to the same state', () => {
    const token = encodePromotionToken(state);
    expect(token).toMatch(/^promotion\.[A-Za-z0-9_-]+$/);
    expect(decodePromotionToken(token)).toEqual(state);
  });

  test('a token written after a transient failure keeps its retry count and whether the standby refresh had started', () => {
    const retry = { ...state, retries: 2, standbyStarted: false };
    expect(decodePromotionToken(encodePromotionToken(retry))).toStrictEqual(retry);
    // A plain wait token says nothing of either: the refresh it continues has started.
    expect(decodePromotionToken(encodePromotionToken(state))).toStrictEqual(state);
    expect(decodePromotionToken(encodePromotionToken({ ...state, standbyStarted: true }))).toStrictEqual(
      state,
    );
  });

  // SageMaker names: up to 63 letters, digits and hyphens.
  const sageMakerName = fc.stringMatching(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/).filter((n) => n.length <= 63);
  test('any state with real SageMaker names fits the limit and round-trips', () => {
    fc.assert(
      fc.property(
        fc.record({
          standbyEndpoint: sageMakerName,
          standbyConfigName: sageMakerName,
          startedAtMs: fc.nat(),
          polls: fc.nat(),
        }),
        (s) => {
          const token = encodePromotionToken(s);
          expect(token.length).toBeLessThanOrEqual(CONTINUATION_TOKEN_LIMIT);
          expect(decodePromotionToken(token)).toEqual(s);
        },
      ),
    );
  });

  test('any Unicode state either round-trips within the limit or is refused with PromotionTokenError', () => {
    const anyName = fc.string({ minLength: 1, maxLength: 255, unit: 'grapheme' });
    fc.assert(
      fc.property(
        fc.record({
          standbyEndpoint: anyName,
          standbyConfigName: anyName,
          startedAtMs: fc.nat(),
          polls: fc.nat(),
        }),
        (s) => {
          let token: string;
          try {
            token = encodePromotionToken(s);
          } catch (error) {
            expect(error).toBeInstanceOf(PromotionTokenError);
            return;
          }
          expect(token.length).toBeLessThanOrEqual(CONTINUATION_TOKEN_LIMIT);
          expect(decodePromotionToken(token)).toEqual(s);
        },
      ),
    );
  });

  test("refuses to write a token over CodePipeline's 2048 characters", () => {
    // 255 four-byte characters per name: 2 × 1020 bytes of JSON before base64.
    const wide = '😀'.repeat(255);
    expect(() => encodePromotionToken({ ...state, standbyEndpoint: wide, standbyConfigName: wide })).toThrow(
      /^promotion continuation token is 2\d{3} characters, over CodePipeline's limit of 2048; shorten the standby endpoint or config name$/,
    );
  });

  test('refuses to write an invalid state, naming the field', () => {
    expect(() => encodePromotionToken({ ...state, polls: -1 })).toThrow(
      'cannot write a promotion continuation token: polls: Too small: expected number to be >=0',
    );
    expect(() => encodePromotionToken({ ...state, standbyConfigName: '' })).toThrow(
      'cannot write a promotion continuation token: standbyConfigName: Too small: expected string to have >=1 characters',
    );
  });

  test('a foreign token is named as such', () => {
    const canary = `canary.${Buffer.from('{"v":1}').toString('base64url')}`;
    expect(() => decodePromotionToken(canary)).toThrow(
      `continuation token "${canary}" was not written by the promotion action (expected it to start ` +
        'with "promotion."); was the action\'s Lambda function changed mid-run? Retry the stage.',
    );
  });

  test('a corrupt token says so', () => {
    expect(() => decodePromotionToken('promotion.!!!')).toThrow(
      'promotion continuation token "promotion.!!!" is corrupt (not base64url-encoded JSON). Retry the stage.',
    );
    const notJson = `promotion.${Buffer.from('{"v":1,').toString('base64url')}`;
    expect(() => decodePromotionToken(notJson)).toThrow(
      `promotion continuation token "${notJson}" is corrupt (not base64url-encoded JSON). Retry the stage.`,
    );
    const notState = `promotion.${Buffer.from('{"v":1,"e":"x","s":-5,"n":0}').toString('base64url')}`;
    expect(() => decodePromotionToken(notState)).toThrow(
      'promotion continuation token is corrupt: standbyConfigName: Invalid input: expected string, received ' +
        'undefined; startedAtMs: Too small: expected number to be >=0. Retry the stage.',
    );
    const extra = `promotion.${Buffer.from('{"v":1,"e":"x","c":"y","s":0,"n":0,"z":1}').toString('base64url')}`;
    expect(() => decodePromotionToken(extra)).toThrow(
      'promotion continuation token is corrupt: (root): Unrecognized key: "z". Retry the stage.',
    );
  });

  test('a token of another version says the action was redeployed', () => {
    const v2 = `promotion.${Buffer.from('{"v":2}').toString('base64url')}`;
    expect(() => decodePromotionToken(v2)).toThrow(
      'promotion continuation token has version 2, but this code reads version 1; the action was probably ' +
        'redeployed mid-run. Retry the stage.',
    );
    const none = `promotion.${Buffer.from('[]').toString('base64url')}`;
    expect(() => decodePromotionToken(none)).toThrow(
      'promotion continuation token has version none, but this code reads version 1',
    );
  });

  test('an over-long token is rejected before it is parsed', () => {
    expect(() => decodePromotionToken(`promotion.${'A'.repeat(CONTINUATION_TOKEN_LIMIT)}`)).toThrow(
      'promotion continuation token is 2058 characters, over the 2048 this action ever writes; it is corrupt. ' +
        'Retry the stage.',
    );
  });

  test('decoding arbitrary strings either succeeds or throws PromotionTokenError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `promotion.${s}`),
          fc
            .jsonValue()
            .map((v) => `promotion.${Buffer.from(JSON.stringify(v) ?? '').toString('base64url')}`),
        ),
        (token) => {
          try {
            decodePromotionToken(token);
          } catch (error) {
            expect(error).toBeInstanceOf(PromotionTokenError);
          }
        },
      ),
    );
  });
});
