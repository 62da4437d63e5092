/**
 * Personal data taken out of free text before it is kept anywhere: production inputs sampled into
 * an eval set, and the `mlops scrub-pii` command. Each value found is replaced by a token naming its
 * kind (`[EMAIL]`, `[PHONE]`, `[CARD]`, `[ACCOUNT]`, `[IP]`, or `[EMPLOYEE_ID]` for a configured
 * pattern named `employee_id`); the result says how many of each kind were replaced, never what.
 *
 * What is recognised, and the choices made where real text is ambiguous:
 * - E-mail: RFC 5322 dot-atom local part (letters of any script, digits, ``!#$%&'*+/=?^_`{|}~-``)
 *   `@` a domain whose last label is 2+ letters.
 * - Card: 13–19 digits, contiguous or grouped 4-4-4-4(-1..3), 4-4-4-1..4, 4-6-4/5 with one kind of
 *   separator (space or dash), a card network prefix (2221–2720, 30, 34–38, 4, 50–69) and a valid
 *   Luhn digit. A random 16-digit number passes about 1 time in 20; a tracking number starting 1, 7,
 *   8 or 9 never does.
 * - Account: an IBAN (2 letters, 2 digits, 11–30 letters/digits, spaces or dashes allowed) with a
 *   valid mod-97 check; any IBAN-shaped value after the word "IBAN"; 6–20 digits after a label
 *   such as "account no.", "acct #", "a/c", "Kontonummer".
 * - IP: IPv4 dotted quads (octets 0–255, no leading zeros) and IPv6 in any valid form (compressed,
 *   IPv4 tail, zone id), except the bare `::`. A four-part version number with parts up to 255
 *   (`1.2.3.4`) IS redacted as an IP: the two cannot be told apart, and a lost version number costs
 *   less than a leaked address. Versions with 2, 3 or 5+ parts, or a part above 255, are kept.
 * - Phone: `+` or `00` and a country code (8–16 digits); national numbers with a leading trunk 0
 *   (9–12 digits, one kind of separator: `020 7946 0958`, `0171-1234567`, `06.12.34.56.78`,
 *   `(030) 1234567`); North American `(415) 555-0132`, `415-555-0132`, `1-800-555-0199`; and 7–15
 *   digits after a label ("phone", "tel", "mobile", "call me on", ...). Not phones: dates, times,
 *   prices, years, numbers after `#` or glued to letters (`ORD-2026-0042`), and numbers after words
 *   like "order", "invoice", "ticket", "tracking" (`order 0123456789`).
 * - Configured patterns: JavaScript regular expressions (no flags), applied first, so a team's own
 *   identifiers are counted under their own name rather than caught as a phone number.
 *
 * Scrubbing is idempotent: tokens are never matched again, and the passes repeat until one finds
 * nothing, so scrubbing the output again changes nothing and counts nothing.
 *
 * Pure: no I/O, no clock.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A configured extra pattern: `monitoring.productionSample.piiPatterns[]`. */
export interface PiiPattern {
  /** snake_case; the token is its upper-case form in brackets, `employee_id` → `[EMPLOYEE_ID]`. */
  readonly name: string;
  /** A JavaScript regular expression, without flags. */
  readonly pattern: string;
}

/** The built-in kinds, in the order counts are reported. */
export const BUILT_IN_PII_KINDS = ['email', 'phone', 'card', 'account', 'ip'] as const;
export type BuiltInPiiKind = (typeof BUILT_IN_PII_KINDS)[number];

/** Replacements by kind: every built-in kind and every configured pattern, zeros included. */
export type PiiCounts = Record<string, number>;

export interface ScrubResult {
  readonly text: string;
  readonly counts: PiiCounts;
}

/** Options of {@link scrubPii} and {@link createPiiScrubber}. */
export interface ScrubOptions {
  /** Patterns scrubbed besides the built-in kinds. @default none */
  readonly extraPatterns?: readonly PiiPattern[];
}

/** A configured pattern that cannot be used; the message names the pattern. */
export class PiiPatternError extends Error {
  override readonly name = 'PiiPatternError';
}

/** Scrubbers with their patterns compiled, reused for every text. */
export interface PiiScrubber {
  /** Every kind counted, built-in first, then the configured patterns in their order. */
  readonly kinds: readonly string[];
  scrub(text: string): ScrubResult;
}

/** The token that replaces a value of `kind`. */
export function piiToken(kind: string): string {
  return `[${kind.toUpperCase()}]`;
}

/** Counts of every kind set to zero. */
export function emptyPiiCounts(kinds: readonly string[]): PiiCounts {
  return Object.fromEntries(kinds.map((k) => [k, 0]));
}

/** Adds `more` into `total` (kinds missing from `total` are added). */
export function addPiiCounts(total: PiiCounts, more: PiiCounts): void {
  for (const [kind, n] of Object.entries(more)) total[kind] = (total[kind] ?? 0) + n;
}

/**
 * Compiles the configured patterns once and returns a scrubber. A pattern that is not a valid
 * regular expression, matches the empty string, or reuses a name throws {@link PiiPatternError}
 * naming it.
 */
export function createPiiScrubber(extraPatterns: readonly PiiPattern[] = []): PiiScrubber {
  const extras = extraPatterns.map(compileExtra);
  const seen = new Set<string>(BUILT_IN_PII_KINDS);
  extraPatterns.forEach((p, i) => {
    if (seen.has(p.name)) {
      const what = (BUILT_IN_PII_KINDS as readonly string[]).includes(p.name)
        ? 'is a built-in kind'
        : 'is used twice';
      throw new PiiPatternError(
        `PII pattern ${i} "${p.name}": the name ${what}; give each configured pattern its own name`,
      );
    }
    seen.add(p.name);
  });
  const detectors = [...extras, ...BUILT_IN_DETECTORS];
  const kinds = [...BUILT_IN_PII_KINDS, ...extraPatterns.map((p) => p.name)];
  const tokens = new RegExp(`\\[(?:${kinds.map((k) => k.toUpperCase()).join('|')})\\]`, 'g');
  return {
    kinds,
    scrub(text: string): ScrubResult {
      const counts = emptyPiiCounts(kinds);
      let current = text;
      // A pass can expose a value that a neighbour hid in the pass before (a lookbehind now sees
      // a token); repeat until a pass finds nothing. Each replacement turns matched characters into
      // a protected token, so this ends.
      for (;;) {
        let found = 0;
        for (const detector of detectors) {
          const next = applyDetector(current, detector, tokens);
          if (next.found > 0) {
            counts[detector.kind] += next.found;
            found += next.found;
            current = next.text;
          }
        }
        if (found === 0) return { text: current, counts };
      }
    },
  };
}

const compiled = new Map<string, PiiScrubber>();
const MAX_CACHED_SCRUBBERS = 16;

/**
 * Scrubs one text. The patterns are compiled once per distinct set and reused; a caller that
 * scrubs many texts may also keep the scrubber of {@link createPiiScrubber}.
 */
export function scrubPii(text: string, options: ScrubOptions = {}): ScrubResult {
  const extras = options.extraPatterns ?? [];
  const key = JSON.stringify(extras.map((p) => [p.name, p.pattern]));
  let scrubber = compiled.get(key);
  if (!scrubber) {
    scrubber = createPiiScrubber(extras);
    if (compiled.size >= MAX_CACHED_SCRUBBERS) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, scrubber);
  }
  return scrubber.scrub(text);
}

// ---------------------------------------------------------------------------------------------
// Detection engine
// ---------------------------------------------------------------------------------------------

/**
 * One kind of value. `pattern` (global) finds candidates; the value is group `pii` when the pattern
 * has one (a label before it stays), else the whole match. `accept` returns where the value ends
 * (it may cut a trailing part of the candidate) or -1 to reject it.
 */
interface Detector {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly accept?: (text: string, start: number, end: number) => number;
}

function applyDetector(text: string, detector: Detector, tokens: RegExp): { text: string; found: number } {
  const isProtected = protectedSpans(text, tokens);
  const re = detector.pattern;
  re.lastIndex = 0;
  let out = '';
  let copied = 0;
  let found = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const group = m.indices?.groups?.pii;
    const [start, candidateEnd] = group ?? [m.index, m.index + m[0].length];
    const end =
      candidateEnd <= start
        ? -1
        : detector.accept
          ? detector.accept(text, start, candidateEnd)
          : candidateEnd;
    if (end <= start || isProtected(start, end)) {
      // Not a value here; a value may still start inside the candidate.
      re.lastIndex = m.index + 1;
      continue;
    }
    out += text.slice(copied, start) + piiToken(detector.kind);
    copied = end;
    found += 1;
    re.lastIndex = end;
  }
  return found === 0 ? { text, found } : { text: out + text.slice(copied), found };
}

/** Whether [start, end) overlaps a token already in the text. */
function protectedSpans(text: string, tokens: RegExp): (start: number, end: number) => boolean {
  const spans: [number, number][] = [];
  tokens.lastIndex = 0;
  for (let m = tokens.exec(text); m !== null; m = tokens.exec(text)) spans.push([m.index, tokens.lastIndex]);
  if (spans.length === 0) return () => false;
  return (start, end) => spans.some(([s, e]) => start < e && s < end);
}

function compileExtra(p: PiiPattern, index: number): Detector {
  const label = `PII pattern ${index} "${p.name}"`;
  if (!/^[a-z][a-z0-9_]*$/.test(p.name)) {
    throw new PiiPatternError(`${label}: the name must be snake_case, like employee_id`);
  }
  let re: RegExp;
  try {
    re = new RegExp(p.pattern, 'g');
  } catch (error) {
    const why = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    throw new PiiPatternError(
      `${label}: /${p.pattern}/ is not a valid JavaScript regular expression (${why}); fix the pattern in monitoring.productionSample.piiPatterns`,
    );
  }
  if (new RegExp(`^(?:${p.pattern})$`).test('')) {
    throw new PiiPatternError(
      `${label}: /${p.pattern}/ matches the empty string, so it would put a token between every character; make it match at least one character`,
    );
  }
  return { kind: p.name, pattern: re };
}

// ---------------------------------------------------------------------------------------------
// Built-in detectors
// ---------------------------------------------------------------------------------------------

const ATEXT = "\\p{L}\\p{N}!#$%&'*+/=?^_`{|}~\\-";
const DOMAIN_LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}\\-]{0,61}[\\p{L}\\p{N}])?';

const EMAIL: Detector = {
  kind: 'email',
  pattern: new RegExp(
    `(?<![${ATEXT}.])[${ATEXT}]{1,64}(?:\\.[${ATEXT}]{1,64})*@(?:${DOMAIN_LABEL}\\.)+\\p{L}{2,63}`,
    'gu',
  ),
};

const IPV6: Detector = {
  kind: 'ip',
  pattern:
    /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,8}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?:%[0-9A-Za-z]+)?/g,
  accept: (text, start, end) => {
    const candidate = text.slice(start, end);
    if (!followedByBoundary(text, end, /[\w:]/) || !/[0-9A-Fa-f]/.test(candidate)) return -1;
    return isIPv6(candidate) ? end : -1;
  },
};

const IPV4: Detector = {
  kind: 'ip',
  pattern: /(?<!\d|\d\.)\d{1,3}(?:\.\d{1,3}){3}(?!\d|\.\d)/g,
  accept: (text, start, end) => (isIPv4(text.slice(start, end)) ? end : -1),
};

/** Letters and digits of an IBAN, with single spaces or dashes between them. */
const IBAN_BODY = '[A-Za-z]{2}\\d{2}(?:[ -]?[A-Za-z0-9]){11,30}';

const IBAN: Detector = {
  kind: 'account',
  pattern: new RegExp(`(?<![A-Za-z0-9])${IBAN_BODY}`, 'g'),
  accept: (text, start, end) => longestAt(text, start, end, separatorEnds, (s) => isValidIban(s)),
};

const LABELLED_IBAN: Detector = {
  kind: 'account',
  pattern: new RegExp(`\\biban\\b[.:#]?(?:\\s*(?:is|ist|est|es|:|-|=))?\\s*(?<pii>${IBAN_BODY})`, 'gid'),
  accept: (text, start, end) =>
    longestAt(text, start, end, separatorEnds, (s) => {
      const n = compact(s).length;
      return n >= 15 && n <= 34;
    }),
};

const CARD: Detector = {
  kind: 'card',
  pattern:
    /(?<![\w+-]|\d[.,])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})(?!\w|[.,-]\d)/g,
  accept: (text, start, end) =>
    longestAt(text, start, end, separatorEnds, (s) => {
      const digits = s.replace(/\D/g, '');
      return digits.length >= 13 && digits.length <= 19 && hasCardPrefix(digits) && luhnValid(digits);
    }),
};

const ACCOUNT_LABEL =
  '\\b(?:(?:bank\\s+)?account|acct|a/c|konto(?:nummer)?|kto)\\.?(?:\\s*(?:no\\.?|nr\\.?|num(?:ber)?|#))?';

const LABELLED_ACCOUNT: Detector = {
  kind: 'account',
  pattern: new RegExp(
    `${ACCOUNT_LABEL}(?:\\s*(?:is|ist|est|es|:|-|=))?\\s*#?\\s*(?<pii>\\d(?:[ -]?\\d){5,19})`,
    'gid',
  ),
  accept: (text, start, end) =>
    longestAt(text, start, end, separatorEnds, (s) => {
      const n = s.replace(/\D/g, '').length;
      return n >= 6 && n <= 20 && !isDateOrTime(s);
    }),
};

/** A digit, or a parenthesised group of digits such as an area code or `(0)`. */
const PHONE_UNIT = '(?:\\(\\d{1,5}\\) ?|\\d)';
const PHONE_BODY = `(?:\\+ ?)?${PHONE_UNIT}(?:[ .\\-/]?${PHONE_UNIT}){5,30}`;

const PHONE_LABEL =
  '\\b(?:phone|tel|telephone|mobile|cell|cellphone|landline|fax|whats ?app|call me|text me|ring me|reach me|my number)\\b\\.?(?:\\s*(?:number|no\\.?|nr\\.?|#))?';

const LABELLED_PHONE: Detector = {
  kind: 'phone',
  pattern: new RegExp(
    `${PHONE_LABEL}(?:\\s*(?:is|ist|est|es|:|-|=))?\\s*(?:(?:on|at|under)\\s+)?(?<pii>${PHONE_BODY})`,
    'gid',
  ),
  accept: (text, start, end) =>
    longestAt(text, start, end, phoneEnds, (s) => {
      const n = s.replace(/\D/g, '').length;
      return n >= 7 && n <= 16 && !isDateOrTime(s);
    }),
};

const PHONE: Detector = {
  kind: 'phone',
  pattern: new RegExp(`(?<![\\w#@$€£¥+]|\\d[.,/:\\-]|[A-Za-z]-)${PHONE_BODY}`, 'g'),
  accept: (text, start, end) => {
    if (NOT_A_PHONE_CONTEXT.test(text.slice(Math.max(0, start - 40), start))) return -1;
    const plus = text[start] === '+';
    // Inside a longer run of digit groups (`9400 1000 0000 0000 …`) a national-looking tail is
    // part of something else, unless what comes before is a date or a time.
    if (!plus && /\d $/.test(text.slice(Math.max(0, start - 2), start))) {
      const before = /(\S+) $/.exec(text.slice(Math.max(0, start - 40), start));
      if (!before || !isDateOrTime(before[1] as string)) return -1;
    }
    return longestAt(text, start, end, phoneEnds, isPhoneNumber);
  },
};

/** Extras first (see the module comment), then the kinds whose shapes contain others' shapes. */
const BUILT_IN_DETECTORS: readonly Detector[] = [
  EMAIL,
  IPV6,
  IBAN,
  LABELLED_IBAN,
  CARD,
  LABELLED_ACCOUNT,
  IPV4,
  LABELLED_PHONE,
  PHONE,
];

/** `15.03.2026`, `03/15/2026`, `2026-11-05`, `09/27`, `10:30`, `23:59:59`, `2026-11-05T10:15:02Z`. */
function isDateOrTime(value: string): boolean {
  if (/^\d{4}-\d{2}-\d{2}(?:T[\d:.]+Z?)?$/.test(value)) return true;
  if (/^\d{1,2}:\d{2}(?::\d{2})?$/.test(value)) return true;
  const m = /^(\d{1,4})([./-])(\d{1,2})(?:\2(\d{1,4}))?\.?$/.exec(value);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[3])];
  if ((m[1] as string).length === 4) return b >= 1 && b <= 12;
  return (a <= 31 && b >= 1 && b <= 12) || (a >= 1 && a <= 12 && b <= 31);
}

const NOT_A_PHONE_CONTEXT =
  /\b(?:order|invoice|inv|ticket|case|ref|reference|tracking|parcel|shipment|package|transaction|txn|receipt|serial|sku|po|customer|booking|confirmation)\b\.?(?:\s*(?:no\.?|nr\.?|num(?:ber)?|id|#))?\s*[:#.-]?\s*$/i;

/** Ends a card, IBAN or account number may be cut at: before a separator, or the candidate's end. */
function separatorEnds(text: string, start: number, end: number): number[] {
  const ends = [end];
  for (let i = end - 1; i > start; i -= 1) if (/[ -]/.test(text[i] as string)) ends.push(i);
  return ends;
}

/**
 * Ends a phone number may be cut at: after a digit or `)` that a separator or the end follows,
 * with 7 to 17 digits before it (no rule accepts fewer or more).
 */
function phoneEnds(text: string, start: number, end: number): number[] {
  const ends: number[] = [];
  let digits = 0;
  for (let i = start; i < end; i += 1) {
    const ch = text[i] as string;
    if (ch >= '0' && ch <= '9') digits += 1;
    if (digits > 17) break;
    const next = i + 1 < end ? (text[i + 1] as string) : '';
    if (digits >= 7 && /[\d)]/.test(ch) && !/\d/.test(next)) ends.push(i + 1);
  }
  return ends.reverse();
}

/**
 * The longest [start, e) that `valid` accepts, among the ends `ends` offers, with no letter or
 * digit (or a decimal continuation) right after it; -1 if none.
 */
function longestAt(
  text: string,
  start: number,
  end: number,
  ends: (text: string, start: number, end: number) => number[],
  valid: (value: string) => boolean,
): number {
  for (const e of ends(text, start, end)) {
    if (followedByBoundary(text, e, /\w/) && valid(text.slice(start, e))) return e;
  }
  return -1;
}

/** True when the character at `at` is not in `word` and no decimal continues the number there. */
function followedByBoundary(text: string, at: number, word: RegExp): boolean {
  const next = text[at];
  if (next === undefined) return true;
  if (word.test(next)) return false;
  return !(/[.,]/.test(next) && /\d/.test(text[at + 1] ?? ''));
}

function compact(value: string): string {
  return value.replace(/[ -]/g, '');
}

function isValidIban(value: string): boolean {
  const iban = compact(value).toUpperCase();
  if (iban.length < 15 || iban.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const digits = code >= 65 ? String(code - 55) : ch;
    for (const d of digits) remainder = (remainder * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** The Luhn check digit of `digits` is right. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes of the card networks: Mastercard 2221–2720 and 51–55, Visa 4, Amex 34/37, etc. */
function hasCardPrefix(digits: string): boolean {
  const two = Number(digits.slice(0, 2));
  const four = Number(digits.slice(0, 4));
  return (
    digits[0] === '4' ||
    (four >= 2221 && four <= 2720) ||
    two === 30 ||
    (two >= 34 && two <= 38) ||
    (two >= 50 && two <= 69)
  );
}

function isPhoneNumber(value: string): boolean {
  const digits = value.replace(/\D/g, '');
  const n = digits.length;
  if (value.startsWith('+')) return /^\+ ?[1-9]/.test(value) && n >= 8 && n <= 16;
  if (/^00[1-9]/.test(value)) return n >= 10 && n <= 17;
  if (value.startsWith('0') || value.startsWith('(0')) return isNationalNumber(value, n);
  return NANP.test(value);
}

const NANP = /^(?:1[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}$/;

/** A number with a trunk 0: `020 7946 0958`, `0171-1234567`, `06.12.34.56.78`, `(030) 1234567`. */
function isNationalNumber(value: string, n: number): boolean {
  if (n < 9 || n > 12) return false;
  const paren = /^\((0\d{1,4})\) ?(.*)$/.exec(value);
  const first = paren ? (paren[1] as string) : (/^\d+/.exec(value)?.[0] ?? '');
  const rest = paren ? (paren[2] as string) : value.slice(first.length);
  if (rest === '') return n >= 10 && n <= 11; // written without separators
  if (first.length < 2 || first.length > 5) return false;
  const separators = new Set(rest.match(/[^\d]/g) ?? []);
  if (!paren && separators.size !== 1) return false;
  if (paren && separators.size > 1) return false;
  const groups = rest.split(/[^\d]/).filter((g) => g !== '');
  return groups.every((g) => g.length >= 2);
}
