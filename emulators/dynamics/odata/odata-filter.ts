import { DataverseError, dataverseErrorCodes } from '../dataverse-error.js';

/**
 * A small OData `$filter` compiler: comparisons (eq, ne, gt, ge, lt, le), and/or/not, parentheses,
 * `null`, string/number/boolean/guid/date literals and the string functions startswith, endswith
 * and contains. String comparisons ignore case, as Dataverse's default collation does.
 */

export type FilterValue = string | number | boolean | null;

/** How a property is read from a candidate object; `kind` tells how literals are coerced. */
export interface FilterProperty<T> {
  get: (item: T) => unknown;
  kind: 'string' | 'number' | 'boolean' | 'datetime' | 'date' | 'guid' | 'other';
}

export type PropertyResolver<T> = (name: string) => FilterProperty<T>;
export type FilterPredicate<T> = (item: T) => boolean;

type Token =
  { t: 'lp' | 'rp' | 'comma' } | { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'word'; v: string };

type Operand<T> = { k: 'prop'; p: FilterProperty<T>; name: string } | { k: 'lit'; v: FilterValue };

const comparisonOps = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
type ComparisonOp = (typeof comparisonOps)[number];
const stringFunctions = ['startswith', 'endswith', 'contains'] as const;

function syntaxError(detail: string): DataverseError {
  return new DataverseError(400, dataverseErrorCodes.invalidArgument, `Syntax error in $filter: ${detail}.`);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(') {
      tokens.push({ t: 'lp' });
      i++;
    } else if (c === ')') {
      tokens.push({ t: 'rp' });
      i++;
    } else if (c === ',') {
      tokens.push({ t: 'comma' });
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw syntaxError('unterminated string literal');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      tokens.push({ t: 'str', v: value });
    } else {
      const match = /^[A-Za-z0-9_.:+\-/]+/.exec(text.slice(i));
      if (!match) throw syntaxError(`unexpected character at position ${i}`);
      const word = match[0];
      i += word.length;
      if (/^-?\d+(\.\d+)?$/.test(word)) tokens.push({ t: 'num', v: Number(word) });
      else tokens.push({ t: 'word', v: word });
    }
  }
  return tokens;
}

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const dateTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const datePattern = /^\d{4}-\d{2}-\d{2}$/;

function normalize(value: unknown, kind: FilterProperty<unknown>['kind']): FilterValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    if (kind === 'datetime') {
      const ms = Date.parse(value);
      return Number.isNaN(ms) ? value : ms;
    }
    if (kind === 'date') return value.slice(0, 10);
    return value.toLowerCase();
  }
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

function compare(op: ComparisonOp, left: FilterValue, right: FilterValue): boolean {
  if (left === null || right === null) {
    if (op === 'eq') return left === right;
    if (op === 'ne') return left !== right;
    return false;
  }
  switch (op) {
    case 'eq':
      return left === right;
    case 'ne':
      return left !== right;
    case 'gt':
      return left > right;
    case 'ge':
      return left >= right;
    case 'lt':
      return left < right;
    case 'le':
      return left <= right;
  }
}

class FilterParser<T> {
  private pos = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly resolve: PropertyResolver<T>,
  ) {}

  parse(): FilterPredicate<T> {
    const predicate = this.parseOr();
    if (this.pos < this.tokens.length) throw syntaxError('unexpected trailing input');
    return predicate;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isWord(value: string): boolean {
    const token = this.peek();
    return token?.t === 'word' && token.v.toLowerCase() === value;
  }

  private expect(kind: Token['t']): Token {
    const token = this.tokens[this.pos];
    if (!token || token.t !== kind) throw syntaxError(`expected ${kind === 'rp' ? "')'" : kind}`);
    this.pos++;
    return token;
  }

  private parseOr(): FilterPredicate<T> {
    let left = this.parseAnd();
    while (this.isWord('or')) {
      this.pos++;
      const l = left;
      const r = this.parseAnd();
      left = (item) => l(item) || r(item);
    }
    return left;
  }

  private parseAnd(): FilterPredicate<T> {
    let left = this.parseUnary();
    while (this.isWord('and')) {
      this.pos++;
      const l = left;
      const r = this.parseUnary();
      left = (item) => l(item) && r(item);
    }
    return left;
  }

  private parseUnary(): FilterPredicate<T> {
    if (this.isWord('not')) {
      this.pos++;
      const inner = this.parseUnary();
      return (item) => !inner(item);
    }
    const token = this.peek();
    if (token?.t === 'lp') {
      this.pos++;
      const inner = this.parseOr();
      this.expect('rp');
      return inner;
    }
    if (token?.t === 'word' && (stringFunctions as readonly string[]).includes(token.v.toLowerCase())) {
      return this.parseFunction(token.v.toLowerCase() as (typeof stringFunctions)[number]);
    }
    const left = this.parseOperand();
    const opToken = this.peek();
    if (opToken?.t !== 'word' || !(comparisonOps as readonly string[]).includes(opToken.v.toLowerCase())) {
      if (left.k === 'prop' && left.p.kind === 'boolean') return (item) => left.p.get(item) === true;
      throw syntaxError('expected a comparison operator');
    }
    this.pos++;
    const op = opToken.v.toLowerCase() as ComparisonOp;
    const right = this.parseOperand();
    return this.comparison(op, left, right);
  }

  private comparison(op: ComparisonOp, left: Operand<T>, right: Operand<T>): FilterPredicate<T> {
    const kind = left.k === 'prop' ? left.p.kind : right.k === 'prop' ? right.p.kind : 'other';
    const side = (operand: Operand<T>): ((item: T) => FilterValue) => {
      if (operand.k === 'lit') {
        const value = normalize(operand.v, kind);
        return () => value;
      }
      const p = operand.p;
      return (item) => normalize(p.get(item), kind);
    };
    const l = side(left);
    const r = side(right);
    return (item) => compare(op, l(item), r(item));
  }

  private parseFunction(name: (typeof stringFunctions)[number]): FilterPredicate<T> {
    this.pos++;
    this.expect('lp');
    const subject = this.parseOperand();
    this.expect('comma');
    const needle = this.parseOperand();
    this.expect('rp');
    if (subject.k !== 'prop' || needle.k !== 'lit' || typeof needle.v !== 'string') {
      throw syntaxError(`${name} takes a property and a string literal`);
    }
    const text = needle.v.toLowerCase();
    const property = subject.p;
    const test =
      name === 'startswith'
        ? (v: string) => v.startsWith(text)
        : name === 'endswith'
          ? (v: string) => v.endsWith(text)
          : (v: string) => v.includes(text);
    return (item) => {
      const value = property.get(item);
      return typeof value === 'string' && test(value.toLowerCase());
    };
  }

  private parseOperand(): Operand<T> {
    const token = this.tokens[this.pos++];
    if (!token) throw syntaxError('unexpected end of expression');
    if (token.t === 'str') return { k: 'lit', v: token.v };
    if (token.t === 'num') return { k: 'lit', v: token.v };
    if (token.t !== 'word') throw syntaxError('expected a property or a literal');
    const word = token.v;
    const lower = word.toLowerCase();
    if (lower === 'null') return { k: 'lit', v: null };
    if (lower === 'true') return { k: 'lit', v: true };
    if (lower === 'false') return { k: 'lit', v: false };
    if (guidPattern.test(word)) return { k: 'lit', v: lower };
    if (dateTimePattern.test(word) || datePattern.test(word)) return { k: 'lit', v: word };
    if (/^-?\d/.test(word)) throw syntaxError(`'${word}' is not a valid literal`);
    return { k: 'prop', p: this.resolve(word), name: word };
  }
}

/** Compile a `$filter` expression into a predicate; unknown properties throw via `resolve`. */
export function compileFilter<T>(text: string, resolve: PropertyResolver<T>): FilterPredicate<T> {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw syntaxError('empty expression');
  return new FilterParser(tokens, resolve).parse();
}
