import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { CaptureRecord } from '../../lambdas/core/serving/data-capture';
import { dvcOutRemoteKey, parseDvcFile } from '../../lambdas/core/data/dvc';
import { createPiiScrubber } from '../../lambdas/core/data/pii';
import {
  allocateProportional,
  buildProductionSample,
  createPrng,
  dvcPinText,
  inputTextOf,
  MAX_SEED,
  ProductionSampler,
  type DrawnSample,
} from '../../lambdas/core/data/production-sample';

const FROM = Date.parse('2026-11-02T04:00:00.000Z');
const TO = Date.parse('2026-11-09T04:00:00.000Z');
const WINDOW = { fromMs: FROM, toMs: TO };

/** A captured request as parseCaptureLine gives it: the router's JSON body, the model's label. */
function captured(
  i: number,
  label: string | undefined,
  text = `message ${i}`,
  at = FROM + i * 1000,
): CaptureRecord {
  return {
    eventId: `event-${String(i).padStart(6, '0')}`,
    variant: 'live',
    inferenceTime: new Date(at).toISOString(),
    inputText: JSON.stringify({ text }),
    ...(label === undefined ? {} : { outputLabel: label, outputConfidence: 0.9 }),
  };
}

/** Records with the given number per label, interleaved in a fixed order. */
function stream(perLabel: Record<string, number>): CaptureRecord[] {
  const records: CaptureRecord[] = [];
  const left = { ...perLabel };
  let i = 0;
  while (Object.values(left).some((n) => n > 0)) {
    for (const label of Object.keys(left)) {
      if ((left[label] as number) === 0) continue;
      left[label] = (left[label] as number) - 1;
      records.push(captured(i, label));
      i += 1;
    }
  }
  return records;
}

function draw(records: readonly CaptureRecord[], size: number, seed: number): DrawnSample {
  const sampler = new ProductionSampler({ size, seed, window: WINDOW });
  for (const r of records) sampler.add(r);
  return sampler.finish();
}

describe('createPrng', () => {
  test('the same seed gives the same sequence; another seed another one', () => {
    const take = (seed: number) => {
      const rng = createPrng(seed);
      return Array.from({ length: 8 }, () => rng.nextUint32());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    expect(take(0)).not.toEqual(take(MAX_SEED));
  });

  test('nextInt is uniform: 60,000 draws into 6 buckets stay within 5 standard deviations', () => {
    const rng = createPrng(7);
    const buckets = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 60_000; i += 1) buckets[rng.nextInt(6)]! += 1;
    const sd = Math.sqrt(60_000 * (1 / 6) * (5 / 6));
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(5 * sd);
  });

  test('nextInt stays in range for any n, including 1 and 2^32', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_SEED }), fc.integer({ min: 1, max: 2 ** 32 }), (seed, n) => {
        const rng = createPrng(seed);
        for (let i = 0; i < 20; i += 1) {
          const v = rng.nextInt(n);
          expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true);
        }
      }),
    );
  });

  test.each([-1, 1.5, 2 ** 32, NaN])('a seed of %p is refused', (seed) => {
    expect(() => createPrng(seed)).toThrow(`the seed must be an integer from 0 to ${MAX_SEED}, got ${seed}`);
  });
});

describe('allocateProportional', () => {
  test.each([
    [{ invoice: 50, refund: 30, other: 20 }, 10, { invoice: 5, refund: 3, other: 2 }],
    [{ invoice: 990, refund: 5, other: 5 }, 10, { invoice: 8, refund: 1, other: 1 }],
    [{ a: 1, b: 1, c: 1 }, 2, { a: 1, b: 1 }],
    [{ a: 1, b: 5, c: 3 }, 2, { b: 1, c: 1 }],
    [{ a: 3, b: 4 }, 500, { a: 3, b: 4 }],
    [{ a: 0, b: 4 }, 2, { b: 2 }],
    // Quotas 2.25, 2.25, 4.5: the largest remainder gets the last row.
    [{ b: 25, a: 25, c: 50 }, 9, { a: 2, b: 2, c: 5 }],
    // Quotas 1.5, 1.5, 2: a tie for the last row goes to the first name.
    [{ b: 30, a: 30, c: 40 }, 5, { a: 2, b: 1, c: 2 }],
    // Quotas 1.6, 1.8, 0.6: floors 1, 1 and the minimum 1; the largest remainder gets the fourth row.
    [{ b: 45, a: 40, c: 15 }, 4, { a: 1, b: 2, c: 1 }],
    // Quotas 3.6, 0.2, 0.2: floors 3 and two minimum rows make 5; the big label gives one back.
    [{ a: 90, b: 5, c: 5 }, 4, { a: 2, b: 1, c: 1 }],
    // More labels than rows: the most frequent ones, a tie going to the first name.
    [{ b: 1, a: 1, c: 2 }, 2, { a: 1, c: 1 }],
  ])('%j, size %i -> %j', (available, size, expected) => {
    expect(allocateProportional(available, size)).toEqual(expected);
  });

  test('properties: the rows add up, every label has one, no label gets more than it has or strays from its quota', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.integer({ min: 1, max: 5000 }), {
          minKeys: 1,
          maxKeys: 12,
        }),
        fc.integer({ min: 1, max: 2000 }),
        (available, size) => {
          const labels = Object.keys(available);
          const total = labels.reduce((s, l) => s + available[l]!, 0);
          const result = allocateProportional(available, size);
          const rows = Object.values(result).reduce((s, n) => s + n, 0);
          expect(rows).toBe(Math.min(size, total));
          for (const [label, n] of Object.entries(result)) {
            expect(n).toBeGreaterThanOrEqual(1);
            expect(n).toBeLessThanOrEqual(available[label]!);
          }
          if (labels.length <= size) expect(Object.keys(result).sort()).toEqual(labels.sort());
          const quotas = labels.map((l) => (size * available[l]!) / total);
          if (total > size && quotas.every((q) => q >= 1)) {
            for (const l of labels)
              expect(Math.abs(result[l]! - (size * available[l]!) / total)).toBeLessThan(1);
          }
        },
      ),
    );
  });

  test('a size that is not a positive integer is refused', () => {
    expect(() => allocateProportional({ a: 1 }, 0)).toThrow('size must be a positive integer, got 0');
  });
});

describe('inputTextOf', () => {
  test.each([
    ['{"text": "my card was charged twice"}', 'my card was charged twice'],
    ['"a JSON string"', 'a JSON string'],
    ['plain text body, not JSON', 'plain text body, not JSON'],
    ['{"document": "no text field"}', undefined],
    ['[1, 2]', undefined],
  ])('%s -> %p', (body, text) => {
    expect(inputTextOf(body)).toBe(text);
  });
});

describe('ProductionSampler', () => {
  test('stratified: rows per label in proportion, a rare label keeps one row, rows come from the input', () => {
    const records = stream({ invoice: 700, refund: 200, billing: 95, other: 5 });
    const drawn = draw(records, 100, 1);
    expect(drawn.perLabel).toEqual({
      billing: { available: 95, sampled: 9 },
      invoice: { available: 700, sampled: 70 },
      other: { available: 5, sampled: 1 },
      refund: { available: 200, sampled: 20 },
    });
    expect(drawn.records).toHaveLength(100);
    expect(drawn.eligible).toBe(1000);
    expect(drawn.note).toBeNull();
    const byId = new Map(records.map((r) => [r.eventId, r]));
    for (const row of drawn.records) {
      const source = byId.get(row.eventId)!;
      expect(row.predictedLabel).toBe(source.outputLabel);
      expect(row.text).toBe(JSON.parse(source.inputText!).text);
      expect(row.timestamp).toBe(source.inferenceTime);
    }
    expect(new Set(drawn.records.map((r) => r.eventId)).size).toBe(100);
    const times = drawn.records.map((r) => Date.parse(r.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test('deterministic given the seed; another seed draws other rows', () => {
    const records = stream({ invoice: 300, refund: 100 });
    const ids = (seed: number) => draw(records, 20, seed).records.map((r) => r.eventId);
    expect(ids(5)).toEqual(ids(5));
    expect(ids(5)).not.toEqual(ids(6));
  });

  test('every record is equally likely to be drawn (2,000 seeds; reservoir and final draw)', () => {
    // 10 records of each label, 4 rows: 2 per label, from reservoirs of 4.
    const records = stream({ a: 10, b: 10 });
    const hits = new Map(records.map((r) => [r.eventId, 0]));
    const runs = 2000;
    for (let seed = 0; seed < runs; seed += 1) {
      for (const row of draw(records, 4, seed).records) hits.set(row.eventId, hits.get(row.eventId)! + 1);
    }
    const p = 2 / 10;
    const sd = Math.sqrt(runs * p * (1 - p));
    for (const n of hits.values()) expect(Math.abs(n - runs * p)).toBeLessThan(5 * sd);
  });

  test('memory holds at most `size` records per label, however many come in', () => {
    const sampler = new ProductionSampler({ size: 50, seed: 3, window: WINDOW });
    for (let i = 0; i < 30_000; i += 1) sampler.add(captured(i, ['a', 'b', 'c'][i % 3], 'x', FROM + i));
    expect(sampler.retained).toBe(150);
    expect(sampler.finish().records).toHaveLength(50);
  });

  test('records that cannot be rows are counted by reason, never sampled', () => {
    const sampler = new ProductionSampler({ size: 10, seed: 1, window: WINDOW });
    sampler.add(captured(1, 'invoice'));
    sampler.add(captured(2, undefined));
    sampler.add({ ...captured(3, 'invoice'), inputText: '{"document": 1}' });
    sampler.add({ ...captured(4, 'invoice'), inputText: undefined });
    sampler.add({ ...captured(5, 'invoice'), inputText: '{"text": "   "}' });
    sampler.add({ eventId: 'e6', inputText: '{"text":"x"}', outputLabel: 'invoice' });
    sampler.add(captured(7, 'invoice', 'late', TO));
    sampler.add(captured(8, 'invoice', 'early', FROM - 1));
    const drawn = sampler.finish();
    expect(drawn.skipped).toEqual({ no_text: 3, no_predicted_label: 1, no_timestamp: 1, outside_window: 2 });
    expect(drawn.records.map((r) => r.eventId)).toEqual(['event-000001']);
    expect(drawn.note).toBe(
      'only 1 captured request(s) could be rows, fewer than the 10 asked for: the sample holds all of them',
    );
  });

  test('more labels than rows: the most frequent labels get one row each, and the note says so', () => {
    const drawn = draw(stream({ a: 5, b: 4, c: 3, d: 2 }), 2, 1);
    expect(drawn.perLabel).toEqual({
      a: { available: 5, sampled: 1 },
      b: { available: 4, sampled: 1 },
      c: { available: 3, sampled: 0 },
      d: { available: 2, sampled: 0 },
    });
    expect(drawn.note).toBe(
      '4 predicted labels but only 2 rows: the 2 rarest labels have no row; raise monitoring.productionSample.size to cover every label',
    );
  });

  test('no records: an empty sample', () => {
    expect(draw([], 10, 1)).toMatchObject({ records: [], eligible: 0, perLabel: {} });
  });

  test('bad options are refused', () => {
    expect(() => new ProductionSampler({ size: 0, seed: 1, window: WINDOW })).toThrow(
      'the sample size must be a positive integer, got 0',
    );
    expect(() => new ProductionSampler({ size: 1, seed: 1, window: { fromMs: TO, toMs: FROM } })).toThrow(
      'is empty',
    );
  });
});

describe('buildProductionSample', () => {
  const scrubber = createPiiScrubber([{ name: 'employee_id', pattern: 'EMP-\\d{6}' }]);
  const texts = [
    'Refund to DE89 3704 0044 0532 0130 00 please, I am EMP-204817',
    'Call me on +44 20 7946 0958 — ich heiße Jürgen',
    'Card 4111 1111 1111 1111 was charged twice, mail me at anna@example.com',
    'nothing personal, version 2.14.3',
  ];
  const records = texts.map((text, i) => captured(i, i % 2 === 0 ? 'refund' : 'other', text));
  const drawn = draw(records, 10, 9);
  const files = buildProductionSample(drawn, scrubber, {
    model: 'document-classifier',
    createdAt: '2026-11-09T04:00:00.000Z',
    window: WINDOW,
    size: 10,
    seed: 9,
    patterns: ['employee_id'],
  });

  test('JSONL rows ready for labelling: scrubbed text, no label yet, the prediction, source and time', () => {
    expect(files.jsonl.split('\n')).toEqual([
      '{"text":"Refund to [ACCOUNT] please, I am [EMPLOYEE_ID]","label":null,"predicted_label":"refund","source":"production","timestamp":"2026-11-02T04:00:00.000Z"}',
      '{"text":"Call me on [PHONE] — ich heiße Jürgen","label":null,"predicted_label":"other","source":"production","timestamp":"2026-11-02T04:00:01.000Z"}',
      '{"text":"Card [CARD] was charged twice, mail me at [EMAIL]","label":null,"predicted_label":"refund","source":"production","timestamp":"2026-11-02T04:00:02.000Z"}',
      '{"text":"nothing personal, version 2.14.3","label":null,"predicted_label":"other","source":"production","timestamp":"2026-11-02T04:00:03.000Z"}',
      '',
    ]);
  });

  test('md5 and size are those of the UTF-8 bytes, and the manifest records them with the counts', () => {
    const bytes = Buffer.from(files.jsonl, 'utf8');
    expect(files.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(files.size).toBe(bytes.byteLength);
    expect(files.size).toBeGreaterThan(files.jsonl.length); // ß, ü and — take more than one byte
    expect(files.manifest).toEqual({
      schemaVersion: 1,
      model: 'document-classifier',
      createdAt: '2026-11-09T04:00:00.000Z',
      window: { from: '2026-11-02T04:00:00.000Z', to: '2026-11-09T04:00:00.000Z' },
      sampling: {
        method: expect.stringContaining('stratified by predicted label'),
        size: 10,
        seed: 9,
        eligible: 4,
        skipped: { no_text: 0, no_predicted_label: 0, no_timestamp: 0, outside_window: 0 },
        perLabel: { other: { available: 2, sampled: 2 }, refund: { available: 2, sampled: 2 } },
        note: 'only 4 captured request(s) could be rows, fewer than the 10 asked for: the sample holds all of them',
      },
      scrubbing: {
        counts: { email: 1, phone: 1, card: 1, account: 1, ip: 0, employee_id: 1 },
        patterns: ['employee_id'],
      },
      rows: 4,
      md5: files.md5,
      size: files.size,
      path: 'production_sample.jsonl',
    });
  });

  test('the .dvc pin is DVC 3 and names the object the remote holds', () => {
    const pin = parseDvcFile(files.dvcPin, 'data/eval/production_sample.jsonl.dvc');
    expect(pin.outs).toEqual([
      expect.objectContaining({
        path: 'production_sample.jsonl',
        md5: files.md5,
        size: files.size,
        hashMode: 'md5',
      }),
    ]);
    expect(dvcOutRemoteKey(pin.outs[0]!, 'document-classifier')).toBe(
      `document-classifier/files/md5/${files.md5.slice(0, 2)}/${files.md5.slice(2)}`,
    );
    expect(() => dvcPinText({ md5: 'nope', size: 1, path: 'x' })).toThrow('dvcPinText: "nope" is not an md5');
  });

  test('no personal data of the input is in the JSONL or the manifest', () => {
    const written = files.jsonl + JSON.stringify(files.manifest) + files.dvcPin;
    for (const value of ['DE89', '0532 0130', 'EMP-204817', '7946 0958', '4111 1111', 'anna@example.com']) {
      expect(written).not.toContain(value);
    }
  });
});
