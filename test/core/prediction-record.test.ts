import fc from 'fast-check';
import {
  buildPredictionRecord,
  FIREHOSE_MAX_RECORD_BYTES,
  inputHmac,
  MIN_RECORD_LIMIT_BYTES,
  parsePredictionRecordLine,
  PredictionRecordError,
  serializeRecord,
  truncationMarker,
  type PredictionRecord,
  type PredictionRecordInput,
} from '../../lambdas/core/routing/prediction-record';

const KEY = new Uint8Array(32).fill(7);
const HMAC = inputHmac(KEY, '{"text":"invoice 4711"}');

const input: PredictionRecordInput = {
  requestId: 'req-0001',
  receivedAt: new Date('2026-11-05T23:59:59.250Z'),
  model: 'document-classifier',
  modelVersion: '4f1c2e9a',
  variant: 'candidate',
  endpoint: 'live',
  routedBy: 'split',
  activeFlags: ['checkout-2026-11', 'candidate-10pct'],
  userBucket: 731,
  inputHmac: HMAC,
  label: 'invoice',
  confidence: 0.9375,
  latencyMs: 41.5,
  error: null,
  inferenceId: 'req-0001',
};

const record: PredictionRecord = buildPredictionRecord(input);
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** No lone surrogate (with the u flag, \p{Cs} matches only unpaired ones). */
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);

describe('buildPredictionRecord', () => {
  test('maps the router input to the snake_case columns of the Glue table', () => {
    expect(record).toEqual({
      request_id: 'req-0001',
      ts: '2026-11-05T23:59:59.250Z',
      model: 'document-classifier',
      model_version: '4f1c2e9a',
      variant: 'candidate',
      endpoint: 'live',
      routed_by: 'split',
      active_flags: ['checkout-2026-11', 'candidate-10pct'],
      user_bucket: 731,
      input_hmac: HMAC,
      label: 'invoice',
      confidence: 0.9375,
      latency_ms: 41.5,
      error: null,
      inference_id: 'req-0001',
    });
  });

  test('keeps the InferenceId sent to the endpoint, and refuses one InvokeEndpoint would not take', () => {
    expect(buildPredictionRecord({ ...input, inferenceId: undefined }).inference_id).toBeNull();
    expect(() => buildPredictionRecord({ ...input, inferenceId: 'x'.repeat(65) })).toThrow(
      /inference_id: got "x+\.\.\., expected inference id of at most 64 characters/,
    );
  });

  test('reads a line written before the router sent an InferenceId', () => {
    const { inference_id: _dropped, ...old } = record;
    const parsed = parsePredictionRecordLine(JSON.stringify(old), 'old line');
    expect(parsed).toEqual({ ...record, inference_id: null });
  });

  test('a failed request has no label or confidence, and keeps its error and latency', () => {
    const failed = buildPredictionRecord({
      ...input,
      label: null,
      confidence: null,
      error: 'ModelError: 500 from the container',
      latencyMs: 1203,
    });
    expect(failed).toMatchObject({
      label: null,
      confidence: null,
      error: 'ModelError: 500 from the container',
    });
  });

  test('user_bucket may be null only when the flag was unavailable', () => {
    expect(
      buildPredictionRecord({ ...input, routedBy: 'flag-unavailable', variant: 'stable', userBucket: null })
        .user_bucket,
    ).toBeNull();
    expect(() => buildPredictionRecord({ ...input, userBucket: null })).toThrow(
      new PredictionRecordError(
        'buildPredictionRecord: invalid prediction record: user_bucket: got null, expected a bucket (0 to 9999): ' +
          'only "flag-unavailable" routing has none; fix the router\'s input',
      ),
    );
  });

  test('every wrong field the router controls is named, with the value and what is allowed', () => {
    const bad = {
      ...input,
      requestId: '',
      receivedAt: new Date('not a date'),
      variant: 'blue',
      userBucket: 10_000,
      inputHmac: 'ABC',
      confidence: Number.NaN,
      latencyMs: -1,
    } as unknown as PredictionRecordInput;
    expect(() => buildPredictionRecord(bad)).toThrow(
      'buildPredictionRecord: invalid prediction record: ' +
        'request_id: got "", expected a non-empty request id; ' +
        'ts: got "Invalid Date", expected an ISO 8601 UTC time like 2026-11-05T10:00:00.000Z; ' +
        'variant: got "blue", expected "stable" or "candidate"; ' +
        'user_bucket: got 10000, expected a whole number from 0 to 9999, or null; ' +
        'input_hmac: got "ABC", expected an HMAC-SHA256: 64 lowercase hex digits; ' +
        'confidence: got NaN, expected confidence, as a finite number; ' +
        'latency_ms: got -1, expected a latency of 0 ms or more; ' +
        "fix the router's input",
    );
  });

  test('flags: at most 32 names of at most 128 characters, no control characters', () => {
    const many = Array.from({ length: 33 }, (_, i) => `flag-${i}`);
    expect(() => buildPredictionRecord({ ...input, activeFlags: many })).toThrow(
      /active_flags: got \["flag-0",.*, expected at most 32 flag names; /,
    );
    expect(() => buildPredictionRecord({ ...input, activeFlags: ['ok', 'two\nlines'] })).toThrow(
      'active_flags[1]: got "two\\nlines", expected flag name without control characters',
    );
  });

  test('label and error are not limited here: serializeRecord cuts them to size', () => {
    const huge = 'x'.repeat(2 * FIREHOSE_MAX_RECORD_BYTES);
    expect(buildPredictionRecord({ ...input, label: huge }).label).toHaveLength(huge.length);
  });
});

describe('inputHmac', () => {
  // RFC 4231 test cases 6 and 7 (a 131-byte key).
  const rfcKey = new Uint8Array(131).fill(0xaa);
  test('matches the RFC 4231 HMAC-SHA256 vectors', () => {
    expect(inputHmac(rfcKey, 'Test Using Larger Than Block-Size Key - Hash Key First')).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
    expect(
      inputHmac(
        rfcKey,
        'This is a test using a larger than block-size key and a larger than block-size data. ' +
          'The key needs to be hashed before being used by the HMAC algorithm.',
      ),
    ).toBe('9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2');
  });

  test('a string is hashed as its UTF-8 bytes: the same as the raw body', () => {
    const text = '{"text":"Grüße, 東京 🚀"}';
    expect(inputHmac(KEY, text)).toBe(inputHmac(KEY, new TextEncoder().encode(text)));
    expect(inputHmac(KEY, text)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('is stable for one key and differs between keys and between inputs', () => {
    const key = fc.uint8Array({ minLength: 32, maxLength: 64 });
    fc.assert(
      fc.property(key, key, fc.string(), fc.string(), (k1, k2, a, b) => {
        fc.pre(Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0);
        expect(inputHmac(k1, a)).toBe(inputHmac(Uint8Array.from(k1), a));
        expect(inputHmac(k1, a)).not.toBe(inputHmac(k2, a));
        if (Buffer.from(a, 'utf8').equals(Buffer.from(b, 'utf8'))) {
          expect(inputHmac(k1, a)).toBe(inputHmac(k1, b));
        } else {
          expect(inputHmac(k1, a)).not.toBe(inputHmac(k1, b));
        }
      }),
    );
  });

  test('refuses a key shorter than 32 bytes', () => {
    expect(() => inputHmac(new Uint8Array(16), 'x')).toThrow(
      new PredictionRecordError(
        'inputHmac: the key is 16 bytes; use a random secret of at least 32 bytes (e.g. 32 random bytes kept ' +
          'in Secrets Manager), the same one for every router instance',
      ),
    );
  });
});

describe('serializeRecord', () => {
  test('one JSON line ending in a newline, keys in the table order whatever the object order', () => {
    const reversed = Object.fromEntries(Object.entries(record).reverse()) as PredictionRecord;
    const line = serializeRecord(reversed);
    expect(line).toBe(
      '{"request_id":"req-0001","ts":"2026-11-05T23:59:59.250Z","model":"document-classifier",' +
        '"model_version":"4f1c2e9a","variant":"candidate","endpoint":"live","routed_by":"split",' +
        '"active_flags":["checkout-2026-11","candidate-10pct"],"user_bucket":731,' +
        `"input_hmac":"${HMAC}","label":"invoice","confidence":0.9375,"latency_ms":41.5,"error":null,` +
        '"inference_id":"req-0001"}\n',
    );
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(parsePredictionRecordLine(line, 'line 1')).toEqual(record);
  });

  test('a label too long for Firehose is cut with a marker, never dropped', () => {
    const label = 'é'.repeat(FIREHOSE_MAX_RECORD_BYTES); // 2 bytes each: twice the limit
    const line = serializeRecord({ ...record, label });
    expect(bytes(line)).toBeLessThanOrEqual(FIREHOSE_MAX_RECORD_BYTES);
    expect(bytes(line)).toBeGreaterThan(FIREHOSE_MAX_RECORD_BYTES - 8); // cut no more than needed
    const back = parsePredictionRecordLine(line, 'cut line');
    const marker = truncationMarker(2 * FIREHOSE_MAX_RECORD_BYTES);
    expect(marker).toBe('...[truncated from 2048000 bytes]');
    expect(back.label!.endsWith(marker)).toBe(true);
    expect(label.startsWith(back.label!.slice(0, -marker.length))).toBe(true);
    expect({ ...back, label: null }).toEqual({ ...record, label: null });
  });

  test('a cut never splits a character: astral ones keep both halves of their surrogate pair', () => {
    for (const limit of [
      MIN_RECORD_LIMIT_BYTES,
      MIN_RECORD_LIMIT_BYTES + 1,
      MIN_RECORD_LIMIT_BYTES + 2,
      MIN_RECORD_LIMIT_BYTES + 3,
    ]) {
      const back = parsePredictionRecordLine(
        serializeRecord({ ...record, error: '🚀'.repeat(limit) }, limit),
        'emoji',
      );
      const kept = back.error!.slice(0, -truncationMarker(4 * limit).length);
      expect(kept).toBe('🚀'.repeat(kept.length / 2));
      expect(wellFormed(back.error!)).toBe(true);
    }
  });

  test('when both label and error are long, each keeps half of the room; a short error is kept whole', () => {
    const limit = MIN_RECORD_LIMIT_BYTES;
    const both = parsePredictionRecordLine(
      serializeRecord({ ...record, label: 'L'.repeat(limit), error: 'E'.repeat(limit) }, limit),
      'both',
    );
    const labelKept = both.label!.indexOf('...[truncated');
    const errorKept = both.error!.indexOf('...[truncated');
    expect(Math.abs(labelKept - errorKept)).toBeLessThanOrEqual(1);
    expect(labelKept).toBeGreaterThan(limit / 2 - 1000);

    const shortError = parsePredictionRecordLine(
      serializeRecord({ ...record, label: 'L'.repeat(limit), error: 'timeout' }, limit),
      'short error',
    );
    expect(shortError.error).toBe('timeout');
    expect(shortError.label!.endsWith(truncationMarker(limit))).toBe(true);
  });

  test('a record that fits is written unchanged; a cut line is written unchanged the second time', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ unit: 'binary', maxLength: 40_000 })),
        fc.option(fc.string({ unit: 'binary', maxLength: 40_000 })),
        fc.integer({ min: MIN_RECORD_LIMIT_BYTES, max: 96 * 1024 }),
        fc.integer({ min: 1, max: 3 }),
        (label, error, limit, repeat) => {
          const r = { ...record, label: label?.repeat(repeat) ?? null, error: error?.repeat(repeat) ?? null };
          const line = serializeRecord(r, limit);
          expect(bytes(line)).toBeLessThanOrEqual(limit);
          const back = parsePredictionRecordLine(line, 'line');
          const plain = `${JSON.stringify(r)}\n`;
          if (bytes(plain) <= limit) expect(line).toBe(plain);
          else expect(back.label !== r.label || back.error !== r.error).toBe(true);
          // Idempotent: the replay function re-serializes what it reads.
          expect(serializeRecord(back, limit)).toBe(line);
          // No half surrogate pair: the kept text is well-formed wherever the original was.
          for (const [kept, original] of [
            [back.label, r.label],
            [back.error, r.error],
          ]) {
            if (kept !== null && original !== null && wellFormed(original))
              expect(wellFormed(kept)).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('even with every bounded field at its longest, a record fits the smallest limit once label and error are cut', () => {
    const worst = '\ud800'.repeat(256); // a lone surrogate: 6 bytes once escaped, the most any character takes
    const longest = buildPredictionRecord({
      ...input,
      requestId: worst,
      modelVersion: worst,
      activeFlags: Array.from({ length: 32 }, () => worst.slice(0, 128)),
      label: 'L'.repeat(MIN_RECORD_LIMIT_BYTES),
      error: 'E'.repeat(MIN_RECORD_LIMIT_BYTES),
    });
    const line = serializeRecord(longest, MIN_RECORD_LIMIT_BYTES);
    expect(bytes(line)).toBeLessThanOrEqual(MIN_RECORD_LIMIT_BYTES);
    expect(parsePredictionRecordLine(line, 'worst').active_flags).toEqual(longest.active_flags);
  });

  test('refuses a limit below 64 KiB', () => {
    expect(() => serializeRecord(record, 1000)).toThrow(
      new RangeError('serializeRecord: maxBytes must be a whole number of at least 65536, got 1000'),
    );
  });
});

describe('parsePredictionRecordLine', () => {
  test('names what is wrong with a line that is not a prediction record', () => {
    expect(() => parsePredictionRecordLine('hello\n', 'SQS message m-1')).toThrow(
      /^SQS message m-1 is not JSON \(.*\); it is not a prediction record$/,
    );
    expect(() =>
      parsePredictionRecordLine(JSON.stringify({ ...record, extra: 1, model: undefined }), 'SQS message m-2'),
    ).toThrow(
      'SQS message m-2: invalid prediction record: model: missing (expected a model name such as document-classifier); ' +
        '(top level): unknown keys extra; it is not a prediction record written by serializeRecord',
    );
  });

  test('says a line that is JSON but not an object should be one', () => {
    for (const [line, got] of [
      ['5', '5'],
      ['null', 'null'],
      ['["a"]', '["a"]'],
    ])
      expect(() => parsePredictionRecordLine(line, 'SQS message m-3')).toThrow(
        `SQS message m-3: invalid prediction record: (top level): got ${got}, expected a JSON object with the ` +
          'prediction record fields; it is not a prediction record written by serializeRecord',
      );
  });

  test('accepts a line without its trailing newline (a record replayed by hand from the logs)', () => {
    expect(parsePredictionRecordLine(JSON.stringify(record), 'by hand')).toEqual(record);
  });
});
