/**
 * The router's request: `POST {"userId": string, "input": <JSON>}`. Anything else is refused with a
 * message saying what is wrong and what to send; the user id is never echoed (it may be personal).
 */
import { MAX_USER_ID_LENGTH } from '../core/routing/assignment';

/** What the router needs of a function URL event. */
export interface RouterRequest {
  readonly requestId: string;
  readonly method: string;
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
}

export type ParsedRequest =
  | {
      readonly ok: true;
      readonly userId: string;
      readonly input: unknown;
      /** `JSON.stringify(input)`: the body sent to the endpoint, and what the input HMAC is taken of. */
      readonly inputJson: string;
    }
  | { readonly ok: false; readonly error: string };

const SHAPE = 'send a JSON object {"userId": "<user id>", "input": <model input, usually {"text": "..."}>}';

export function parseRouterRequest(request: RouterRequest): ParsedRequest {
  if (request.method !== 'POST') {
    return { ok: false, error: `method ${request.method || '(none)'} is not allowed: use POST and ${SHAPE}` };
  }
  const text = request.isBase64Encoded
    ? Buffer.from(request.body ?? '', 'base64').toString('utf8')
    : (request.body ?? '');
  if (text.trim() === '') return { ok: false, error: `the request has no body: ${SHAPE}` };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `the body is not JSON (${(error as Error).message}): ${SHAPE}` };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: `the body is ${kindOf(body)}, not a JSON object: ${SHAPE}` };
  }
  const { userId, input } = body as { userId?: unknown; input?: unknown };
  const problems: string[] = [];
  if (userId === undefined) {
    problems.push('userId is missing: send the user id as a string, the same on every request of that user');
  } else if (typeof userId !== 'string') {
    problems.push(
      `userId must be a string, got ${kindOf(userId)}: send the user id as a string, the same on every request of that user`,
    );
  } else if (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    problems.push(
      `userId must be 1 to ${MAX_USER_ID_LENGTH} characters, got ${userId.length}: send a non-empty id that ` +
        'stays the same for the user (hash a longer one first)',
    );
  }
  if (input === undefined || input === null) {
    problems.push(
      `input is ${input === null ? 'null' : 'missing'}: send the model input, usually {"text": "..."}`,
    );
  }
  if (problems.length > 0) return { ok: false, error: problems.join('; ') };
  return { ok: true, userId: userId as string, input, inputJson: JSON.stringify(input) };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
