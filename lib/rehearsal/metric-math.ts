/**
 * The part of CloudWatch metric math the model stack's alarms use, over one datapoint per query
 * (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html): numbers, query
 * ids, + - * /, comparisons (1 for true, 0 for false), AND, OR, IF(condition, a, b), FILL(m, value),
 * ABS, MIN and MAX of two values. A query without a datapoint makes the result missing, except
 * through FILL. Anything else is refused when the alarm is read, so an alarm the rehearsal cannot
 * evaluate is named, never guessed at.
 */
export type Expression =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'id'; readonly name: string }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Expression; readonly right: Expression }
  | { readonly kind: 'neg'; readonly operand: Expression }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expression[] };

const FUNCTIONS: Record<string, number> = { IF: 3, FILL: 2, ABS: 1, MIN: 2, MAX: 2 };

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(>=|<=|==|!=|[-+*/(),<>]|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_]*)/y;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) throw new Error(`cannot read "${text.slice(i)}"`);
    tokens.push(m[1] as string);
    i = re.lastIndex;
  }
  return tokens;
}

export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (want?: string) => {
    const t = tokens[pos++];
    if (t === undefined || (want !== undefined && t.toUpperCase() !== want)) {
      throw new Error(`expected ${want ?? 'more'} at "${tokens.slice(pos - 1).join(' ')}"`);
    }
    return t;
  };
  const level = (ops: string[], next: () => Expression) => (): Expression => {
    let left = next();
    while (peek() !== undefined && ops.includes(peek()!.toUpperCase())) {
      const op = take().toUpperCase();
      left = { kind: 'binary', op, left, right: next() };
    }
    return left;
  };
  const primary = (): Expression => {
    const t = take();
    if (t === '(') {
      const e = or();
      take(')');
      return e;
    }
    if (t === '-') return { kind: 'neg', operand: primary() };
    if (/^\d/.test(t)) return { kind: 'number', value: Number(t) };
    if (peek() === '(') {
      const name = t.toUpperCase();
      const arity = FUNCTIONS[name];
      if (arity === undefined) throw new Error(`function ${t} is not supported by the rehearsal`);
      take('(');
      const args: Expression[] = [or()];
      while (peek() === ',') {
        take(',');
        args.push(or());
      }
      take(')');
      if (args.length !== arity) throw new Error(`${name} takes ${arity} arguments`);
      return { kind: 'call', name, args };
    }
    if (/^[A-Za-z_]/.test(t)) return { kind: 'id', name: t };
    throw new Error(`unexpected "${t}"`);
  };
  const mul = level(['*', '/'], primary);
  const add = level(['+', '-'], mul);
  const cmp = level(['>', '<', '>=', '<=', '==', '!='], add);
  const and = level(['AND'], cmp);
  const or = level(['OR'], and);
  const e = or();
  if (pos !== tokens.length) throw new Error(`unexpected "${tokens.slice(pos).join(' ')}"`);
  return e;
}

/** The expression's value for one period; undefined when it has no datapoint. */
export function evaluateExpression(
  e: Expression,
  vars: ReadonlyMap<string, number | undefined>,
): number | undefined {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'id':
      return vars.get(e.name);
    case 'neg': {
      const v = evaluateExpression(e.operand, vars);
      return v === undefined ? undefined : -v;
    }
    case 'call': {
      if (e.name === 'FILL') {
        const v = evaluateExpression(e.args[0]!, vars);
        return v ?? evaluateExpression(e.args[1]!, vars);
      }
      const args = e.args.map((a) => evaluateExpression(a, vars));
      if (e.name === 'IF') {
        if (args[0] === undefined) return undefined;
        return args[0] !== 0 ? args[1] : args[2];
      }
      if (args.some((a) => a === undefined)) return undefined;
      const [a, b] = args as number[];
      if (e.name === 'ABS') return Math.abs(a!);
      if (e.name === 'MIN') return Math.min(a!, b!);
      return Math.max(a!, b!);
    }
    case 'binary': {
      const a = evaluateExpression(e.left, vars);
      const b = evaluateExpression(e.right, vars);
      if (a === undefined || b === undefined) return undefined;
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return b === 0 ? undefined : a / b;
        case '>':
          return a > b ? 1 : 0;
        case '<':
          return a < b ? 1 : 0;
        case '>=':
          return a >= b ? 1 : 0;
        case '<=':
          return a <= b ? 1 : 0;
        case '==':
          return a === b ? 1 : 0;
        case '!=':
          return a !== b ? 1 : 0;
        case 'AND':
          return a !== 0 && b !== 0 ? 1 : 0;
        case 'OR':
          return a !== 0 || b !== 0 ? 1 : 0;
      }
      return undefined;
    }
  }
}
