import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  addPiiCounts,
  BUILT_IN_PII_KINDS,
  createPiiScrubber,
  emptyPiiCounts,
  luhnValid,
  PiiPatternError,
  scrubPii,
} from '../../lambdas/core/data/pii';

const FIXTURES = path.resolve(__dirname, '../fixtures/pii');
/** The extra pattern the fixture's employee ids need (as configured in a model file). */
const EMPLOYEE_ID = { name: 'employee_id', pattern: 'EMP-\\d{6}' };

function jsonl<T>(file: string): T[] {
  return readFileSync(path.join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Counts with every kind of the scrubber, from the non-zero ones written in a fixture. */
function fullCounts(nonZero: Record<string, number>, kinds: readonly string[]): Record<string, number> {
  return { ...emptyPiiCounts(kinds), ...nonZero };
}

describe('scrubPii on held-out support messages', () => {
  const messages = jsonl<{ text: string }>('support-messages.jsonl');
  const expected = jsonl<{ text: string; counts: Record<string, number> }>('support-messages.expected.jsonl');
  const scrubber = createPiiScrubber([EMPLOYEE_ID]);

  test('the fixture pairs up: one expected line per message', () => {
    expect(messages).toHaveLength(42);
    expect(expected).toHaveLength(messages.length);
  });

  test.each(messages.map((m, i) => [i + 1, m.text] as const))(
    'line %i is scrubbed exactly as written in the expected file',
    (line, text) => {
      const want = expected[line - 1]!;
      const got = scrubber.scrub(text);
      expect(got.text).toBe(want.text);
      expect(got.counts).toEqual(fullCounts(want.counts, scrubber.kinds));
    },
  );

  test('totals over the file: counts by kind, and no value of the input left in the output', () => {
    const total = emptyPiiCounts(scrubber.kinds);
    const outputs: string[] = [];
    for (const m of messages) {
      const r = scrubber.scrub(m.text);
      addPiiCounts(total, r.counts);
      outputs.push(r.text);
    }
    expect(total).toEqual({ email: 6, phone: 14, card: 7, account: 8, ip: 9, employee_id: 1 });
    const all = outputs.join('\n');
    for (const value of [
      'anna.schmidt@example.com',
      '4111 1111 1111 1111',
      '7946 0958',
      'DE89 3704 0044 0532 0130 00',
      '203.0.113.42',
      '12345678 was',
      '555-0132',
      '2001:db8:85a3::8a2e:370:7334',
      'NL91ABNA0417164300',
      'EMP-204817',
    ]) {
      expect(all).not.toContain(value);
    }
  });
});

describe('what is NOT personal data stays as it was', () => {
  test.each([
    ['ISO date and time', 'Delivered 2026-11-05T10:15:02Z, again on 2026-11-06 at 09:30'],
    ['European and US dates', 'between 05.11.2026 and 12/24/2026, or 01.02.2024 10:30'],
    ['times with seconds', 'the job ran from 23:59:59 to 00:00:01'],
    ['years in a row', 'in 2019 2020 2021 2022 and 2023 we grew'],
    ['prices', 'it costs $1,299.99, €2.450,00, £0.99, 1 299 € or USD 12,345.67'],
    ['decimals', 'a confidence of 0.4111111111111111 and a ratio of 0.123456789'],
    ['versions with three parts', 'upgraded from 2.14.3 to v3.0.12 and build 10.0.19045.3803'],
    ['order numbers', 'order #123456789, order no. 0123456789, ORD-2026-000123-4567, order 234-567-8901'],
    ['invoice and ticket numbers', 'invoice INV-00012345, ticket 20261105-0042, ref 0044123456'],
    ['tracking numbers', 'UPS 1Z999AA10123456784, USPS 9400 1000 0000 0000 0000 00, FedEx 7489 2345 6781'],
    ['a 16-digit number that fails Luhn', 'reference 4111111111111112'],
    ['a Luhn-valid number outside the card networks', 'serial 9999999999999995 and 1000000000000008'],
    ['an IBAN with a wrong check digit and no label', 'code DE00 3704 0044 0532 0130 00'],
    ['an account label with too few digits', 'account 2 was opened in 2019; account no. 1234'],
    ['MAC address and ratios', 'device 00:1A:2B:3C:4D:5E, score 3:1'],
    ['code with double colons', 'call std::vector or Foo::Bar in C++'],
    ['short numbers', 'room 101, zip 10115, extension 12, 3-5 days, 555-0132'],
  ])('%s', (_what, text) => {
    const r = scrubPii(text);
    expect(r.text).toBe(text);
    expect(Object.values(r.counts).every((n) => n === 0)).toBe(true);
  });

  test('luhnValid: the check digit of known card numbers, and a changed digit fails', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('9999999999999995')).toBe(true); // valid Luhn, refused by the network prefix
  });
});

describe('the decisions where real text is ambiguous', () => {
  test('a four-part version number with parts up to 255 IS redacted as an IP address', () => {
    expect(scrubPii('firmware 1.2.3.4 and v10.0.0.1').text).toBe('firmware [IP] and v[IP]');
  });

  test('a version part above 255, or a fifth part, keeps it a version', () => {
    const text = 'builds 1.2.3.456 and 1.2.3.4.5';
    expect(scrubPii(text).text).toBe(text);
  });

  test('a phone number after a date is still found; inside a run of digit groups it is not', () => {
    expect(scrubPii('on 15.03.2026 0171 1234567').text).toBe('on 15.03.2026 [PHONE]');
    expect(scrubPii('at 10:30 020 7946 0958').text).toBe('at 10:30 [PHONE]');
    expect(scrubPii('9400 1000 0000 0000 0000 00').counts.phone).toBe(0);
  });

  test('a labelled account or IBAN is redacted without a checksum; the label stays', () => {
    expect(scrubPii('IBAN: DE00 3704 0044 0532 0130 00').text).toBe('IBAN: [ACCOUNT]');
    expect(scrubPii('a/c 40308669, Konto-Nr. not given').text).toBe('a/c [ACCOUNT], Konto-Nr. not given');
    expect(scrubPii('Account Number: 12-34-5678').text).toBe('Account Number: [ACCOUNT]');
  });

  test('a labelled phone number takes local formats the unlabelled rules leave alone', () => {
    expect(scrubPii('my number is 612 345 678').text).toBe('my number is [PHONE]');
    expect(scrubPii('612 345 678').text).toBe('612 345 678');
    expect(scrubPii('call me on 12.03.2026').text).toBe('call me on 12.03.2026');
  });

  test('international and national formats', () => {
    for (const phone of [
      '+44 20 7946 0958',
      '+1 (415) 555-0132',
      '+49 (0)30 1234 5678',
      '+33 6 12 34 56 78',
      '0044 20 7946 0958',
      '020 7946 0958',
      '07700900123',
      '(030) 1234567',
      '030/12345678',
      '06.12.34.56.78',
      '415.555.0132',
      '1-800-555-0199',
    ]) {
      expect(scrubPii(`tel ${phone}.`).text).toBe('tel [PHONE].');
      expect(scrubPii(`or ${phone}, thanks`).text).toBe('or [PHONE], thanks');
    }
  });

  test('cards: contiguous, grouped by spaces or dashes, Amex 4-6-5, 19 digits', () => {
    for (const card of [
      '4111111111111111',
      '4111-1111-1111-1111',
      '5555 5555 5555 4444',
      '3782 822463 10005',
      '2221000000000009',
      '4000 0000 0000 0000 006',
    ]) {
      expect(scrubPii(`card ${card} exp 12/27`)).toMatchObject({
        text: 'card [CARD] exp 12/27',
        counts: { card: 1 },
      });
    }
  });

  test('IPv6 forms: compressed, IPv4 tail, zone id, in brackets with a port; the bare :: is kept', () => {
    expect(scrubPii('from ::ffff:192.0.2.1 and [2001:db8::1]:443, fe80::1%eth0; :: stays').text).toBe(
      'from [IP] and [[IP]]:443, [IP]; :: stays',
    );
  });

  test('e-mail addresses with plus tags, sub-domains and non-ASCII letters', () => {
    expect(scrubPii('to jo+tag@mail.example.co.uk, müller@example.de or <a.b@example.org>.').text).toBe(
      'to [EMAIL], [EMAIL] or <[EMAIL]>.',
    );
  });
});

describe('configured patterns', () => {
  test('are replaced by their upper-case name and counted under it, before the built-in kinds', () => {
    const scrubber = createPiiScrubber([
      { name: 'employee_id', pattern: 'EMP-\\d{6}' },
      { name: 'customer_number', pattern: 'C\\d{10}' },
    ]);
    expect(scrubber.kinds).toEqual([...BUILT_IN_PII_KINDS, 'employee_id', 'customer_number']);
    expect(scrubber.scrub('EMP-123456 for C0123456789 at +44 20 7946 0958')).toEqual({
      text: '[EMPLOYEE_ID] for [CUSTOMER_NUMBER] at [PHONE]',
      counts: { email: 0, phone: 1, card: 0, account: 0, ip: 0, employee_id: 1, customer_number: 1 },
    });
  });

  test('a pattern that could match a token never rewrites it', () => {
    const scrubber = createPiiScrubber([{ name: 'shouting', pattern: '\\[?[A-Z]{4,}\\]?' }]);
    expect(scrubber.scrub('CALL john@example.com TODAY')).toEqual({
      text: '[SHOUTING] [EMAIL] [SHOUTING]',
      counts: { email: 1, phone: 0, card: 0, account: 0, ip: 0, shouting: 2 },
    });
  });

  test.each([
    [
      [{ name: 'employee_id', pattern: 'EMP-(\\d{6}' }],
      'PII pattern 0 "employee_id": /EMP-(\\d{6}/ is not a valid JavaScript regular expression (Unterminated group); fix the pattern in monitoring.productionSample.piiPatterns',
    ],
    [
      [EMPLOYEE_ID, { name: 'badge', pattern: '[0-9' }],
      'PII pattern 1 "badge": /[0-9/ is not a valid JavaScript regular expression (Unterminated character class); fix the pattern in monitoring.productionSample.piiPatterns',
    ],
    [
      [{ name: 'maybe', pattern: 'x*' }],
      'PII pattern 0 "maybe": /x*/ matches the empty string, so it would put a token between every character; make it match at least one character',
    ],
    [
      [{ name: 'email', pattern: 'x+' }],
      'PII pattern 0 "email": the name is a built-in kind; give each configured pattern its own name',
    ],
    [
      [EMPLOYEE_ID, EMPLOYEE_ID],
      'PII pattern 1 "employee_id": the name is used twice; give each configured pattern its own name',
    ],
    [
      [{ name: 'Employee', pattern: 'x+' }],
      'PII pattern 0 "Employee": the name must be snake_case, like employee_id',
    ],
  ])('an unusable pattern is a clear error naming it: %j', (patterns, message) => {
    expect(() => createPiiScrubber(patterns)).toThrow(PiiPatternError);
    expect(() => createPiiScrubber(patterns)).toThrow(message);
    expect(() => scrubPii('x', { extraPatterns: patterns })).toThrow(message);
  });

  test('scrubPii compiles a set of patterns once and reuses it', () => {
    const spy = jest.spyOn(globalThis, 'RegExp');
    try {
      const extraPatterns = [{ name: 'ticket_code', pattern: 'TCK\\d{5}' }];
      scrubPii('TCK12345', { extraPatterns });
      const afterFirst = spy.mock.calls.length;
      expect(afterFirst).toBeGreaterThan(0);
      for (let i = 0; i < 5; i += 1) {
        expect(scrubPii('TCK12345', { extraPatterns: [...extraPatterns] }).text).toBe('[TICKET_CODE]');
      }
      expect(spy.mock.calls.length).toBe(afterFirst);
    } finally {
      spy.mockRestore();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/** Card numbers as the networks issue them: a network prefix, random digits, a Luhn check digit. */
const cardNumber = fc
  .record({
    prefix: fc.constantFrom(
      '4',
      '51',
      '55',
      '2221',
      '2720',
      '34',
      '37',
      '6011',
      '65',
      '35',
      '36',
      '62',
      '50',
      '67',
    ),
    length: fc.integer({ min: 13, max: 19 }),
    digits: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
    grouping: fc.constantFrom('none', ' ', '-'),
  })
  .map(({ prefix, length, digits, grouping }) => {
    const body = (prefix + digits.join('')).slice(0, length - 1);
    const check = [...'0123456789'].find((d) => luhnValid(body + d)) as string;
    const number = body + check;
    if (grouping === 'none') return { number, written: number };
    const sizes =
      length === 16 ? [4, 4, 4, 4] : length === 15 ? [4, 6, 5] : length === 19 ? [4, 4, 4, 4, 3] : undefined;
    if (!sizes) return { number, written: number };
    const groups: string[] = [];
    let at = 0;
    for (const size of sizes) {
      groups.push(number.slice(at, at + size));
      at += size;
    }
    return { number, written: groups.join(grouping) };
  });

function mod97(digitsAndLetters: string): number {
  let remainder = 0;
  for (const ch of digitsAndLetters) {
    const code = ch.charCodeAt(0);
    for (const d of code >= 65 ? String(code - 55) : ch) remainder = (remainder * 10 + Number(d)) % 97;
  }
  return remainder;
}

/** IBANs with a correct check: a country, random letters and digits, the mod-97 check digits. */
const iban = fc
  .record({
    country: fc.constantFrom('DE', 'GB', 'FR', 'NL', 'ES', 'IT', 'CH', 'PL'),
    bban: fc.stringMatching(/^[A-Z0-9]{11,30}$/),
    spaced: fc.boolean(),
  })
  .map(({ country, bban, spaced }) => {
    const check = String(98 - mod97(`${bban}${country}00`)).padStart(2, '0');
    const compact = `${country}${check}${bban}`;
    return spaced ? compact.replace(/(.{4})(?=.)/g, '$1 ') : compact;
  });

/** International numbers: +, a country code, groups of 2–3 digits (8–15 digits in all). */
const internationalPhone = fc
  .record({
    country: fc.integer({ min: 1, max: 999 }),
    groups: fc.array(fc.stringMatching(/^\d{2,3}$/), { minLength: 3, maxLength: 4 }),
    separator: fc.constantFrom(' ', '-'),
  })
  .filter(({ country, groups }) => {
    const n = String(country).length + groups.join('').length;
    return n >= 8 && n <= 15;
  })
  .map(({ country, groups, separator }) => `+${country} ${groups.join(separator)}`);

const northAmericanPhone = fc
  .tuple(fc.stringMatching(/^[2-9]\d{2}$/), fc.stringMatching(/^[2-9]\d{2}$/), fc.stringMatching(/^\d{4}$/))
  .map(([area, exchange, line]) => `(${area}) ${exchange}-${line}`);

const ipv6 = fc.ipV6().filter((a) => a !== '::');

type Item = { kind: string; written: string; raw: string[] };

const piiItem: fc.Arbitrary<Item> = fc.oneof(
  fc.emailAddress().map((e) => ({ kind: 'email', written: e, raw: [e] })),
  cardNumber.map((c) => ({ kind: 'card', written: c.written, raw: [c.written, c.number] })),
  fc.ipV4().map((ip) => ({ kind: 'ip', written: ip, raw: [ip] })),
  ipv6.map((ip) => ({ kind: 'ip', written: ip, raw: [ip] })),
  iban.map((i) => ({ kind: 'account', written: i, raw: [i, i.replace(/ /g, '')] })),
  internationalPhone.map((p) => ({ kind: 'phone', written: p, raw: [p] })),
  northAmericanPhone.map((p) => ({ kind: 'phone', written: p, raw: [p] })),
);

/** Words that are labels or context for a rule; filler without them keeps the counts exact. */
const CONTEXT_WORDS =
  /^(?:order|invoice|inv|ticket|case|ref|reference|tracking|parcel|shipment|package|transaction|txn|receipt|serial|sku|po|customer|booking|confirmation|account|acct|konto|kontonummer|kto|iban|phone|tel|telephone|mobile|cell|cellphone|landline|fax|whatsapp|bank|no|nr|num|number|id|is|ist|est|es|on|at|under|me|my)$/;
const fillerWord = fc.stringMatching(/^[a-z]{1,8}$/).filter((w) => !CONTEXT_WORDS.test(w));
const separator = fc.constantFrom(', ', '; ', ' | ');

describe('properties', () => {
  test('scrubbing is idempotent: the output scrubbed again is unchanged and counts nothing', () => {
    const scrubber = createPiiScrubber([{ name: 'ticket_code', pattern: '[A-Z]{2,3}-\\d+' }]);
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
      fc.stringMatching(/^[\d .\-/()+:]{1,25}$/),
      piiItem.map((i) => i.written),
      fc.constantFrom('[EMAIL]', '[IP', 'TCK-12', '[TICKET_CODE]', 'account no. ', 'phone: ', 'order '),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const once = scrubber.scrub(pieces.join(''));
        const twice = scrubber.scrub(once.text);
        expect(twice.text).toBe(once.text);
        expect(Object.values(twice.counts).every((n) => n === 0)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  test('a generated e-mail, valid card number or IP address embedded in random text never survives', () => {
    const item = fc.oneof(
      fc.emailAddress(),
      cardNumber.chain((c) => fc.constantFrom(c.written, c.number)),
      fc.ipV4(),
      ipv6,
    );
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        item,
        fc.string({ maxLength: 40 }),
        fc.constantFrom(' ', '\n', '\t'),
        (before, value, after, space) => {
          const out = scrubPii(`${before}${space}${value}${space}${after}`).text;
          expect(out).not.toContain(value);
        },
      ),
      { numRuns: 600 },
    );
  });

  test('the counts equal the number of values inserted, kind by kind', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(fillerWord, { maxLength: 3 }), piiItem, separator), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fillerWord, { maxLength: 3 }),
        (parts, tail) => {
          const inserted = emptyPiiCounts(BUILT_IN_PII_KINDS);
          let text = '';
          for (const [words, item, sep] of parts) {
            text += `${[...words, ''].join(' ')}${item.written}${sep}`;
            inserted[item.kind] += 1;
          }
          text += tail.join(' ');
          const r = scrubPii(text);
          expect(r.counts).toEqual(inserted);
          for (const [, item] of parts) for (const raw of item.raw) expect(r.text).not.toContain(raw);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('texts without digits, @ or colons pass through untouched', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z .,;!?'"()\n-]{0,80}$/), (text) => {
        expect(scrubPii(text).text).toBe(text);
      }),
    );
  });
});
