import fc from 'fast-check';
import {
  AgreementTally,
  captureHourPrefixes,
  countAgreement,
  parseCaptureLine,
  parseCaptureObjectKey,
  type CaptureRecord,
} from '../../lambdas/core/serving/data-capture';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** A capture line as SageMaker writes it. */
function captureLine(opts: {
  eventId?: string;
  input?: { data: unknown; encoding: string; contentType?: string } | null;
  output?: { data: unknown; encoding: string; contentType?: string } | null;
  inferenceTime?: string;
  inferenceId?: string;
}): string {
  const payload = (mode: string, p: { data: unknown; encoding: string; contentType?: string }) => ({
    observedContentType: p.contentType ?? 'application/json',
    mode,
    data: p.data,
    encoding: p.encoding,
  });
  const captureData: Record<string, unknown> = {};
  if (opts.input !== null) {
    captureData.endpointInput = payload(
      'INPUT',
      opts.input ?? { data: '{"text":"Invoice 2291 for ACME"}', encoding: 'JSON' },
    );
  }
  if (opts.output !== null) {
    captureData.endpointOutput = payload(
      'OUTPUT',
      opts.output ?? { data: '{"label":"invoice","confidence":0.93}', encoding: 'JSON' },
    );
  }
  return JSON.stringify({
    captureData,
    eventMetadata: {
      eventId: opts.eventId ?? '6b1d2f1e-0c44-4bd8-9d1e-1f0a5a0c2b11',
      ...(opts.inferenceId === undefined ? {} : { inferenceId: opts.inferenceId }),
      inferenceTime: opts.inferenceTime ?? '2026-11-05T10:15:02Z',
    },
    eventVersion: '0',
  });
}

describe('parseCaptureLine', () => {
  test('a JSON-encoded line gives the event id, time, input text, label and confidence', () => {
    expect(parseCaptureLine(captureLine({}), { variant: 'live' })).toEqual({
      ok: true,
      record: {
        eventId: '6b1d2f1e-0c44-4bd8-9d1e-1f0a5a0c2b11',
        outputCaptured: true,
        variant: 'live',
        inferenceTime: '2026-11-05T10:15:02Z',
        inputText: '{"text":"Invoice 2291 for ACME"}',
        outputLabel: 'invoice',
        outputConfidence: 0.93,
      },
    });
  });

  test('a BASE64-encoded line decodes to the same record', () => {
    const line = captureLine({
      input: {
        data: b64('{"text":"Reçu n° 7 — café"}'),
        encoding: 'BASE64',
        contentType: 'application/x-doc',
      },
      output: { data: b64('{"label":"receipt","confidence":0.61}'), encoding: 'BASE64' },
    });
    expect(parseCaptureLine(line)).toEqual({
      ok: true,
      record: {
        eventId: '6b1d2f1e-0c44-4bd8-9d1e-1f0a5a0c2b11',
        outputCaptured: true,
        inferenceTime: '2026-11-05T10:15:02Z',
        inputText: '{"text":"Reçu n° 7 — café"}',
        outputLabel: 'receipt',
        outputConfidence: 0.61,
      },
    });
  });

  test("reads the caller's inferenceId, and a latencyMs the container reports in its answer", () => {
    const line = captureLine({
      inferenceId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      output: { data: '{"label":"invoice","confidence":0.93,"latencyMs":41.5}', encoding: 'JSON' },
    });
    const parsed = parseCaptureLine(line);
    expect(parsed.ok && parsed.record).toMatchObject({
      eventId: '6b1d2f1e-0c44-4bd8-9d1e-1f0a5a0c2b11',
      inferenceId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      outputLatencyMs: 41.5,
    });
    // Without an InferenceId from the caller the record still parses, with nothing to pair on.
    const plain = parseCaptureLine(captureLine({ inferenceId: '' }));
    expect(plain.ok && 'inferenceId' in plain.record).toBe(false);
    const negative = parseCaptureLine(
      captureLine({ output: { data: '{"label":"x","latencyMs":-3}', encoding: 'JSON' } }),
    );
    expect(negative.ok && negative.record.outputLatencyMs).toBeUndefined();
  });

  test('a JSON body embedded as an object is read like the string SageMaker writes', () => {
    const line = captureLine({ output: { data: { label: 'contract', confidence: 0.8 }, encoding: 'JSON' } });
    const parsed = parseCaptureLine(line);
    expect(parsed.ok && parsed.record.outputLabel).toBe('contract');
  });

  test('a binary (non-UTF-8) input parses without input text', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe]).toString('base64');
    const parsed = parseCaptureLine(captureLine({ input: { data: png, encoding: 'BASE64' } }));
    expect(parsed).toEqual({
      ok: true,
      record: {
        eventId: '6b1d2f1e-0c44-4bd8-9d1e-1f0a5a0c2b11',
        outputCaptured: true,
        inferenceTime: '2026-11-05T10:15:02Z',
        outputLabel: 'invoice',
        outputConfidence: 0.93,
      },
    });
  });

  test('a CSV line parses with its input text but no label: it is counted, not compared', () => {
    const line = captureLine({
      input: { data: '5.1,3.5,1.4,0.2', encoding: 'CSV', contentType: 'text/csv' },
      output: { data: '0.0254', encoding: 'CSV', contentType: 'text/csv' },
    });
    expect(parseCaptureLine(line)).toEqual({
      ok: true,
      record: {
        eventId: '6b1d2f1e-0c44-4bd8-9d1e-1f0a5a0c2b11',
        outputCaptured: true,
        inferenceTime: '2026-11-05T10:15:02Z',
        inputText: '5.1,3.5,1.4,0.2',
      },
    });
  });

  test('an output that is JSON without a string label gives no label; a non-number confidence is dropped', () => {
    const noLabel = parseCaptureLine(
      captureLine({ output: { data: '{"scores":[0.1,0.9]}', encoding: 'JSON' } }),
    );
    expect(noLabel.ok && noLabel.record.outputLabel).toBeUndefined();
    const numeric = parseCaptureLine(
      captureLine({ output: { data: '{"label":3,"confidence":"high"}', encoding: 'JSON' } }),
    );
    expect(numeric.ok && [numeric.record.outputLabel, numeric.record.outputConfidence]).toEqual([
      undefined,
      undefined,
    ]);
    const notJson = parseCaptureLine(captureLine({ output: { data: 'invoice', encoding: 'JSON' } }));
    expect(notJson.ok && notJson.record.outputLabel).toBeUndefined();
  });

  test('an input-only capture parses without a label', () => {
    const parsed = parseCaptureLine(captureLine({ output: null }));
    expect(parsed.ok && parsed.record).toEqual({
      eventId: '6b1d2f1e-0c44-4bd8-9d1e-1f0a5a0c2b11',
      inferenceTime: '2026-11-05T10:15:02Z',
      inputText: '{"text":"Invoice 2291 for ACME"}',
    });
  });

  test.each([
    ['truncated JSON', '{"captureData":', 'not JSON'],
    ['a bare CSV row', '5.1,3.5,1.4,0.2', 'not JSON'],
    ['a JSON array', '[1,2]', 'not a JSON object'],
    ['no captureData', '{"eventMetadata":{"eventId":"a"}}', 'no captureData object'],
    [
      'an empty eventMetadata',
      JSON.stringify({ captureData: { endpointInput: {} }, eventMetadata: {} }),
      'no eventMetadata.eventId',
    ],
    ['no eventMetadata', JSON.stringify({ captureData: { endpointInput: {} } }), 'no eventMetadata.eventId'],
    [
      'no payloads',
      JSON.stringify({ captureData: {}, eventMetadata: { eventId: 'a' } }),
      'captureData has neither endpointInput nor endpointOutput',
    ],
    [
      'invalid base64 output',
      captureLine({ output: { data: 'not base64!', encoding: 'BASE64' } }),
      'endpointOutput.data is not valid base64',
    ],
    [
      'truncated base64 input',
      captureLine({ input: { data: 'abc', encoding: 'BASE64' } }),
      'endpointInput.data is not valid base64',
    ],
    [
      'an unknown encoding',
      captureLine({ input: { data: 'x', encoding: 'XML' } }),
      'endpointInput.encoding "XML" is not JSON, BASE64 or CSV',
    ],
    [
      'no encoding',
      captureLine({ output: { data: 'x', encoding: undefined as unknown as string } }),
      'endpointOutput.encoding missing is not JSON, BASE64 or CSV',
    ],
    [
      'non-string CSV data',
      captureLine({ output: { data: 42, encoding: 'CSV' } }),
      'endpointOutput.data is not a string',
    ],
    [
      'null JSON data',
      captureLine({ output: { data: null, encoding: 'JSON' } }),
      'endpointOutput.data is missing',
    ],
  ])('a line with %s is reported, not thrown', (_what, line, reason) => {
    expect(parseCaptureLine(line)).toEqual({ ok: false, reason });
  });

  test('never throws, whatever the line', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .record({
              data: fc.oneof(fc.string(), fc.base64String(), fc.jsonValue()),
              encoding: fc.constantFrom('JSON', 'BASE64', 'CSV', 'NONE'),
            })
            .map((output) => captureLine({ output })),
        ),
        (line) => {
          const parsed = parseCaptureLine(line);
          if (parsed.ok) expect(typeof parsed.record.eventId).toBe('string');
          else expect(parsed.reason.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('capture object keys', () => {
  const root = 'document-classifier/dc-live/dc-live/';

  test('a SageMaker key gives its variant and hour', () => {
    expect(parseCaptureObjectKey(`${root}shadow/2026/11/05/10/15-02-123-6b1d2f1e.jsonl`, root)).toEqual({
      variant: 'shadow',
      hourStartMs: Date.UTC(2026, 10, 5, 10),
    });
  });

  test.each([
    ['other/prefix/live/2026/11/05/10/a.jsonl'],
    [`${root}live/2026/11/05/a.jsonl`],
    [`${root}live/2026/02/30/10/a.jsonl`],
    [`${root}live/2026/11/05/24/a.jsonl`],
    [`${root}live/2026/11/05/10/extra/a.jsonl`],
    [`${root}live/2026/11/05/10/`],
  ])('any other key (%s) is not a capture file', (key) => {
    expect(parseCaptureObjectKey(key, root)).toBeUndefined();
  });

  test('the hour prefixes cover every hour the window touches', () => {
    expect(
      captureHourPrefixes('live', Date.parse('2026-11-05T10:40:00Z'), Date.parse('2026-11-05T11:40:00Z')),
    ).toEqual(['live/2026/11/05/10/', 'live/2026/11/05/11/']);
    expect(
      captureHourPrefixes('shadow', Date.parse('2026-12-31T23:30:00Z'), Date.parse('2027-01-01T00:00:00Z')),
    ).toEqual(['shadow/2026/12/31/23/', 'shadow/2027/01/01/00/']);
    expect(() => captureHourPrefixes('live', 2, 1)).toThrow(
      'captureHourPrefixes: the window 2..1 is not a time range',
    );
  });

  test('every prefix of a window parses back to an hour inside it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.integer({ min: 0, max: 20 * 3_600_000 }),
        (start, length) => {
          const prefixes = captureHourPrefixes('live', start, start + length);
          for (const prefix of prefixes) {
            const parsed = parseCaptureObjectKey(`r/${prefix}f.jsonl`, 'r/');
            expect(parsed).toBeDefined();
            expect(parsed!.hourStartMs + 3_600_000).toBeGreaterThan(start);
            expect(parsed!.hourStartMs).toBeLessThanOrEqual(start + length);
          }
          expect(prefixes.length).toBeLessThanOrEqual(Math.ceil(length / 3_600_000) + 1);
        },
      ),
    );
  });
});

describe('pairing on inferenceId', () => {
  const variants = { production: 'live', shadow: 'shadow' };
  const rec = (
    variant: string | undefined,
    inferenceId: string | undefined,
    outputLabel?: string,
    extra: Partial<CaptureRecord> = {},
  ): CaptureRecord => ({
    // SageMaker's eventId differs per variant: pairing must not rely on it.
    eventId: `${variant ?? 'none'}-${inferenceId ?? 'x'}-${Math.random()}`,
    ...(variant ? { variant } : {}),
    ...(inferenceId ? { inferenceId } : {}),
    outputCaptured: true,
    ...(outputLabel ? { outputLabel } : {}),
    ...extra,
  });

  test('pairs by inferenceId, never by eventId, and counts every record it could not pair', () => {
    const result = countAgreement(
      [
        rec('live', 'r1', 'invoice'),
        rec('shadow', 'r1', 'invoice'),
        rec('live', 'r2', 'receipt'),
        rec('shadow', 'r2', 'invoice'),
        rec('shadow', 'r3', 'contract'),
        rec('live', 'r3', 'contract'),
        rec('live', 'r4', 'invoice'), // production only
        rec('shadow', 'r5', 'invoice'), // shadow only
        rec('live', 'r6'), // answered, but not a prediction: a failure
        rec('shadow', 'r6', 'invoice'),
        rec('live', 'r1', 'receipt'), // read twice: the first one counts
        rec('live', undefined, 'invoice'), // no InferenceId sent
        rec('shadow', undefined, 'invoice'),
        rec('shadow', undefined, 'invoice'),
        rec('live', 'r7', undefined, { outputCaptured: false }), // input-only capture
        rec('standby', 'r1', 'invoice'),
        rec(undefined, 'r1', 'invoice'),
      ],
      variants,
    );
    expect(result).toEqual({
      pairedOn: 'inferenceId',
      matched: 4,
      compared: 3,
      agreements: 2,
      failures: { bothFailed: 0, productionOnly: 1, shadowOnly: 0, neitherFailed: 3 },
      latency: null,
      production: {
        records: 8,
        withoutInferenceId: 1,
        withoutOutput: 1,
        duplicates: 1,
        pairable: 5,
        labelled: 4,
        unpaired: 1,
      },
      shadow: {
        records: 7,
        withoutInferenceId: 2,
        withoutOutput: 0,
        duplicates: 0,
        pairable: 5,
        labelled: 5,
        unpaired: 1,
      },
      otherVariant: 2,
    });
  });

  test('records sharing an eventId but no inferenceId are not paired', () => {
    const result = countAgreement(
      [
        { eventId: 'same', variant: 'live', outputCaptured: true, outputLabel: 'a' },
        { eventId: 'same', variant: 'shadow', outputCaptured: true, outputLabel: 'a' },
      ],
      variants,
    );
    expect(result.matched).toBe(0);
    expect(result.production.withoutInferenceId).toBe(1);
    expect(result.shadow.withoutInferenceId).toBe(1);
  });

  test('latency differences are shadow minus production, over requests both answered with a latency', () => {
    const pairs = [
      [40, 45],
      [50, 49],
      [30, 60],
      [20, 20],
    ];
    const records = pairs.flatMap(([p, s], i) => [
      rec('live', `r${i}`, 'a', { outputLatencyMs: p }),
      rec('shadow', `r${i}`, 'a', { outputLatencyMs: s }),
    ]);
    // A pair with a latency on one side only does not count.
    records.push(rec('live', 'rx', 'a', { outputLatencyMs: 10 }), rec('shadow', 'rx', 'a'));
    const { latency } = countAgreement(records, variants);
    // differences 5, -1, 30, 0: mean 8.5, median 2.5, p99 by linear interpolation 29.25
    expect(latency).toEqual({
      pairs: 4,
      meanMs: 8.5,
      sdMs: expect.closeTo(Math.sqrt(((5 - 8.5) ** 2 + 9.5 ** 2 + 21.5 ** 2 + 8.5 ** 2) / 3), 12),
      medianMs: 2.5,
      p99Ms: expect.closeTo(29.25, 12),
    });
  });

  test('with nothing captured, nothing is compared', () => {
    const empty = {
      records: 0,
      withoutInferenceId: 0,
      withoutOutput: 0,
      duplicates: 0,
      pairable: 0,
      labelled: 0,
      unpaired: 0,
    };
    expect(countAgreement([], variants)).toEqual({
      pairedOn: 'inferenceId',
      matched: 0,
      compared: 0,
      agreements: 0,
      failures: { bothFailed: 0, productionOnly: 0, shadowOnly: 0, neitherFailed: 0 },
      latency: null,
      production: empty,
      shadow: empty,
      otherVariant: 0,
    });
  });

  test('refuses to pair a variant with itself', () => {
    expect(() => new AgreementTally({ production: 'live', shadow: 'live' })).toThrow(
      'AgreementTally: both variants are named "live"',
    );
  });

  test('every record is counted once, and agreements ≤ compared ≤ matched ≤ pairable', () => {
    const record = fc.record({
      variant: fc.constantFrom('live', 'shadow', 'other'),
      inferenceId: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { nil: undefined }),
      outputCaptured: fc.boolean(),
      outputLabel: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (records) => {
        const result = countAgreement(
          records.map((r, i) => ({
            eventId: `e${i}`,
            variant: r.variant,
            outputCaptured: r.outputCaptured,
            ...(r.inferenceId ? { inferenceId: r.inferenceId } : {}),
            ...(r.outputLabel ? { outputLabel: r.outputLabel } : {}),
          })),
          variants,
        );
        const perVariant = (v: string) => records.filter((r) => r.variant === v).length;
        expect(result.agreements).toBeLessThanOrEqual(result.compared);
        expect(result.compared).toBeLessThanOrEqual(result.matched);
        const f = result.failures;
        expect(f.bothFailed + f.productionOnly + f.shadowOnly + f.neitherFailed).toBe(result.matched);
        expect(f.neitherFailed).toBe(result.compared);
        expect(result.production.records).toBe(perVariant('live'));
        expect(result.shadow.records).toBe(perVariant('shadow'));
        expect(result.otherVariant).toBe(perVariant('other'));
        for (const side of [result.production, result.shadow]) {
          expect(side.withoutInferenceId + side.withoutOutput + side.duplicates + side.pairable).toBe(
            side.records,
          );
          expect(side.unpaired).toBe(side.pairable - result.matched);
          expect(side.labelled).toBeLessThanOrEqual(side.pairable);
        }
      }),
    );
  });
});
