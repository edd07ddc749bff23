/**
 * The derived-feature expression language's checker: every value's type (number, condition,
 * category, time, quoted text) and, for numbers, a range the value is sure to lie in. The ranges
 * are what make division safe at spec check: `a / b` needs a divisor whose range excludes zero
 * (a non-zero number, `max(b, 1)`, `abs(b) + 0.5`, `clip(b, 1, 50)`...); any other divisor must
 * be written `safe_div(a, b)`, which is missing where `b` is 0.
 *
 * A spec is checked twice: by the loader, where source columns are not known yet (their names are
 * "deferred" and fit anywhere), and against the source, where every name has its column's type.
 */
import { editDistance } from '../../../ml/paramSchema';
import { parseDateLiteral } from './calendar';
import { ExpressionError } from './error';
import { DATE_PART_RANGES, FUNCTIONS } from './functions';
import { ANY, CONDITION, hull, mayBeZero, product, quotient, type ValueRange } from './ranges';
import { parseExpression, type ExpressionNode } from './syntax';

export { FUNCTIONS } from './functions';
export type { ValueRange } from './ranges';

/** What a source column holds, in the language's words. */
export type ColumnType = 'number' | 'boolean' | 'category' | 'time';

/** The type of a value in an expression; `text` is a quoted literal, `deferred` a column not known yet. */
export type ValueType = ColumnType | 'text' | 'deferred';

/** The type of a derived feature's values: a number, or a condition stored as 1 / 0. */
export type ResultType = 'number' | 'boolean';

/** What a name in an expression refers to, as the scope of the check knows it. */
export type NameMeaning =
  | { kind: 'column'; type: ColumnType }
  | { kind: 'deferred' }
  | { kind: 'derived'; type: ResultType; range: ValueRange }
  | { kind: 'unknown'; problem: string; advice?: string };

/** The names an expression may use. */
export interface ExpressionScope {
  meaning(name: string): NameMeaning;
}

/** A checked expression: its tree, the type and range of its values and the names it reads. */
export interface CheckedExpression {
  text: string;
  tree: ExpressionNode;
  type: ResultType;
  range: ValueRange;
  /** Each name it reads, once, with what it was checked as (`deferred` before the source is known). */
  names: ReadonlyMap<string, ColumnType | 'derived' | 'deferred'>;
}

/** Where log, log1p and sqrt are defined, in words for messages. */
interface Domain {
  floor: number;
  /** Whether the floor itself is in the domain. */
  closed: boolean;
  words: string;
  advice: string;
}
const DOMAINS: Readonly<Record<'log' | 'log1p' | 'sqrt', Domain>> = {
  log: { floor: 0, closed: false, words: 'positive', advice: 'shift it, e.g. log(x + 1), or write log1p(x)' },
  log1p: { floor: -1, closed: false, words: 'above -1', advice: 'shift it, e.g. log1p(x + 1)' },
  sqrt: { floor: 0, closed: true, words: 'zero or positive', advice: 'take sqrt(abs(x)) or sqrt(max(x, 0))' },
};

/** What to do with a time where a number is wanted. */
const TIME_ADVICE =
  'take a number from it: hour(t), dayofweek(t), week(t), month(t) or days_since(t, "2020-01-01")';

interface Value {
  type: ValueType;
  range: ValueRange;
}

/** Words for a value in a message: a name's own name, otherwise what it is. */
function nameOf(node: ExpressionNode): string {
  switch (node.kind) {
    case 'name':
      return `"${node.name}"`;
    case 'call':
      return `${node.name}(...)`;
    case 'string':
      return `the text ${JSON.stringify(node.value)}`;
    case 'number':
      return `the number ${node.value}`;
    default:
      return 'this part';
  }
}

class Checker {
  readonly names = new Map<string, ColumnType | 'derived' | 'deferred'>();

  constructor(private readonly scope: ExpressionScope) {}

  value(node: ExpressionNode): Value {
    switch (node.kind) {
      case 'number':
        return { type: 'number', range: { lo: node.value, hi: node.value } };
      case 'string':
        return { type: 'text', range: ANY };
      case 'name':
        return this.name(node.name, node.at);
      case 'negate': {
        const operand = this.number(node.operand);
        return { type: 'number', range: { lo: -operand.hi, hi: -operand.lo } };
      }
      case 'not':
        this.condition(node.operand);
        return { type: 'boolean', range: CONDITION };
      case 'binary':
        return this.binary(node);
      case 'in':
        return this.membership(node);
      case 'call':
        return this.call(node);
    }
  }

  private name(name: string, at: number): Value {
    const meaning = this.scope.meaning(name);
    switch (meaning.kind) {
      case 'unknown':
        throw new ExpressionError(meaning.problem, at, meaning.advice);
      case 'deferred':
        this.names.set(name, 'deferred');
        return { type: 'deferred', range: ANY };
      case 'derived':
        this.names.set(name, 'derived');
        return { type: meaning.type, range: meaning.range };
      case 'column':
        this.names.set(name, meaning.type);
        return { type: meaning.type, range: meaning.type === 'boolean' ? CONDITION : ANY };
    }
  }

  /** A value that must be a number. */
  number(node: ExpressionNode): ValueRange {
    return this.asNumber(node, this.value(node));
  }

  /** An already checked value that must be a number (a node is checked once: nested calls would multiply). */
  private asNumber(node: ExpressionNode, value: Value): ValueRange {
    if (value.type === 'number' || value.type === 'deferred') return value.range;
    const what = nameOf(node);
    switch (value.type) {
      case 'boolean':
        throw new ExpressionError(
          `${what} is a condition (true or false), not a number`,
          node.at,
          'turn it into one with if(condition, 1, 0)',
        );
      case 'category':
        throw new ExpressionError(
          `${what} is a category, not a number`,
          node.at,
          `test it instead, e.g. if(${node.kind === 'name' ? node.name : 'x'} == "steel", 1, 0)`,
        );
      case 'time':
        throw new ExpressionError(`${what} is a time, not a number`, node.at, TIME_ADVICE);
      case 'text':
        throw new ExpressionError(
          `${what} is quoted text, not a number`,
          node.at,
          'write numbers without quotes; quoted text only compares with a category',
        );
    }
  }

  /** A value that must be a condition. */
  condition(node: ExpressionNode): void {
    const value = this.value(node);
    if (value.type === 'boolean' || value.type === 'deferred') return;
    throw new ExpressionError(
      `${nameOf(node)} is ${value.type === 'number' ? 'a number' : `a ${value.type}`}, not a condition`,
      node.at,
      'write a comparison such as x > 0 or material == "steel"',
    );
  }

  /** A value that must be a time. */
  private time(node: ExpressionNode, usage: string): void {
    const value = this.value(node);
    if (value.type === 'time' || value.type === 'deferred') return;
    throw new ExpressionError(
      `${nameOf(node)} is not a time`,
      node.at,
      `${usage} takes a date or timestamp column`,
    );
  }

  private binary(node: Extract<ExpressionNode, { kind: 'binary' }>): Value {
    switch (node.operator) {
      case 'and':
      case 'or':
        this.condition(node.left);
        this.condition(node.right);
        return { type: 'boolean', range: CONDITION };
      case '==':
      case '!=':
        this.equality(node);
        return { type: 'boolean', range: CONDITION };
      case '<':
      case '<=':
      case '>':
      case '>=':
        this.timesRefused(node);
        this.number(node.left);
        this.number(node.right);
        return { type: 'boolean', range: CONDITION };
      case '+':
      case '-': {
        this.timesRefused(node);
        const left = this.number(node.left);
        const right = this.number(node.right);
        return node.operator === '+'
          ? { type: 'number', range: hull(left.lo + right.lo, left.hi + right.hi) }
          : { type: 'number', range: hull(left.lo - right.hi, left.hi - right.lo) };
      }
      case '*': {
        const a = this.number(node.left);
        const b = this.number(node.right);
        return {
          type: 'number',
          range: hull(product(a.lo, b.lo), product(a.lo, b.hi), product(a.hi, b.lo), product(a.hi, b.hi)),
        };
      }
      case '/': {
        const dividend = this.number(node.left);
        const divisor = this.number(node.right);
        if (divisor.lo === 0 && divisor.hi === 0) {
          throw new ExpressionError('division by zero', node.right.at, 'divide by a number that is not 0');
        }
        if (mayBeZero(divisor)) {
          throw new ExpressionError(
            `division by ${nameOf(node.right)}, which may be zero`,
            node.at,
            'write safe_div(a, b), missing where b is 0, or keep the divisor away from zero, e.g. a / max(b, 1)',
          );
        }
        return { type: 'number', range: quotient(dividend, divisor) };
      }
    }
  }

  /** Times are compared and subtracted through days_since, which says in what unit. */
  private timesRefused(node: Extract<ExpressionNode, { kind: 'binary' }>): void {
    for (const side of [node.left, node.right]) {
      if (this.peekType(side) === 'time') {
        throw new ExpressionError(
          `${nameOf(side)} is a time`,
          side.at,
          'compare or subtract times in days: days_since(t, other_time) or days_since(t, "2020-01-01")',
        );
      }
    }
  }

  /** The type of a name node without recording it (for messages that pick their words). */
  private peekType(node: ExpressionNode): ValueType | undefined {
    if (node.kind !== 'name') return undefined;
    const meaning = this.scope.meaning(node.name);
    return meaning.kind === 'column' ? meaning.type : undefined;
  }

  private equality(node: Extract<ExpressionNode, { kind: 'binary' }>): void {
    const left = this.value(node.left);
    const right = this.value(node.right);
    const types = [left.type, right.type];
    if (types.includes('deferred')) return;
    if (left.type === 'text' && right.type === 'text') {
      throw new ExpressionError(
        'compares two quoted texts',
        node.at,
        'compare a category column with a text',
      );
    }
    if (types.includes('time')) {
      throw new ExpressionError('compares times', node.at, 'compare days_since(a, b) with a number instead');
    }
    const fits = (a: ValueType, b: ValueType) => a === b || (a === 'category' && b === 'text');
    if (fits(left.type, right.type) || fits(right.type, left.type)) return;
    const [node1, type1, node2, type2] =
      left.type === 'text'
        ? [node.right, right.type, node.left, left.type]
        : [node.left, left.type, node.right, right.type];
    const advice =
      type1 === 'number' && type2 === 'text'
        ? `${nameOf(node1)} is a number column: compare it with a number, without quotes`
        : 'compare a number with a number, a category with a quoted text, a condition with a condition';
    throw new ExpressionError(
      `${nameOf(node1)} (${type1}) cannot be compared with ${nameOf(node2)} (${type2})`,
      node.at,
      advice,
    );
  }

  private membership(node: Extract<ExpressionNode, { kind: 'in' }>): Value {
    const operand = this.value(node.operand);
    const first = node.values[0];
    const wanted = first?.kind === 'number' ? 'number' : 'string';
    const odd = node.values.find((value) => value.kind !== wanted);
    if (odd) {
      throw new ExpressionError(
        'the list mixes numbers and quoted texts',
        odd.at,
        'list only texts, or only numbers',
      );
    }
    const fits =
      operand.type === 'deferred' ||
      (operand.type === 'category' && wanted === 'string') ||
      (operand.type === 'number' && wanted === 'number');
    if (!fits) {
      throw new ExpressionError(
        `${nameOf(node.operand)} (${operand.type}) cannot be looked up in a list of ${wanted === 'number' ? 'numbers' : 'texts'}`,
        node.at,
        'a category is looked up among quoted texts, a number among numbers',
      );
    }
    return { type: 'boolean', range: CONDITION };
  }

  /**
   * The range of log, log1p or sqrt of a value, refusing a value the checker can tell leaves the
   * domain: one that never enters it, or whose known lower bound (from max, clip, abs, a date
   * part...) lies outside it, as in log(hour(t)) where hour may be 0. A value with no known
   * bound (a column) is left to evaluation, which gives missing values where it leaves the domain.
   */
  private outsideDomainRefused(name: keyof typeof DOMAINS, range: ValueRange, at: number): ValueRange {
    const domain = DOMAINS[name];
    const inside = (x: number) => (domain.closed ? x >= domain.floor : x > domain.floor);
    if (!inside(range.hi)) {
      throw new ExpressionError(
        `${name} of a value that is never ${domain.words}`,
        at,
        'check the sign of its argument',
      );
    }
    if (Number.isFinite(range.lo) && !inside(range.lo)) {
      throw new ExpressionError(
        `${name} of a value that may not be ${domain.words}: it lies in [${range.lo}, ${range.hi}]`,
        at,
        domain.advice,
      );
    }
    const apply = name === 'log' ? Math.log : name === 'log1p' ? Math.log1p : Math.sqrt;
    return hull(apply(Math.max(range.lo, domain.floor)), apply(range.hi));
  }

  private call(node: Extract<ExpressionNode, { kind: 'call' }>): Value {
    const rule = Object.hasOwn(FUNCTIONS, node.name) ? FUNCTIONS[node.name] : undefined;
    if (!rule) {
      const known = Object.keys(FUNCTIONS);
      const close = known.find((name) => editDistance(name, node.name.toLowerCase()) <= 2);
      throw new ExpressionError(
        `unknown function "${node.name}"`,
        node.at,
        `${close ? `did you mean ${close}? ` : ''}the functions are ${known.join(', ')}`,
      );
    }
    if (node.args.length < rule.min || node.args.length > rule.max) {
      const count = rule.min === rule.max ? `${rule.min}` : `${rule.min} to ${rule.max}`;
      throw new ExpressionError(
        `${node.name} takes ${count} argument${rule.max === 1 ? '' : 's'}, not ${node.args.length}`,
        node.at,
        `write ${rule.usage}`,
      );
    }
    const [a, b, c] = node.args as [ExpressionNode, ExpressionNode, ExpressionNode];
    switch (node.name) {
      case 'log':
      case 'log1p':
      case 'sqrt':
        return { type: 'number', range: this.outsideDomainRefused(node.name, this.number(a), node.at) };
      case 'abs': {
        const range = this.number(a);
        const lo = mayBeZero(range) ? 0 : Math.min(Math.abs(range.lo), Math.abs(range.hi));
        return { type: 'number', range: { lo, hi: Math.max(Math.abs(range.lo), Math.abs(range.hi)) } };
      }
      case 'clip': {
        const x = this.number(a);
        const low = this.number(b);
        const high = this.number(c);
        if (low.lo > high.hi) {
          throw new ExpressionError(
            "clip's low bound is above its high bound",
            b.at,
            'write clip(x, low, high)',
          );
        }
        const floored = { lo: Math.max(x.lo, low.lo), hi: Math.max(x.hi, low.hi) };
        return {
          type: 'number',
          range: { lo: Math.min(floored.lo, high.lo), hi: Math.min(floored.hi, high.hi) },
        };
      }
      case 'min':
      case 'max': {
        const ranges = node.args.map((arg) => this.number(arg));
        const pick = node.name === 'min' ? Math.min : Math.max;
        return {
          type: 'number',
          range: {
            lo: pick(...ranges.map((range) => range.lo)),
            hi: pick(...ranges.map((range) => range.hi)),
          },
        };
      }
      case 'if': {
        this.condition(a);
        const then = this.value(b);
        const otherwise = this.value(c);
        const conditions = [then.type, otherwise.type].filter(
          (type) => type === 'boolean' || type === 'deferred',
        );
        const type: ResultType =
          conditions.length === 2 && conditions.includes('boolean') ? 'boolean' : 'number';
        if (type === 'number') {
          this.asNumber(b, then);
          this.asNumber(c, otherwise);
        }
        return { type, range: hull(then.range.lo, then.range.hi, otherwise.range.lo, otherwise.range.hi) };
      }
      case 'safe_div': {
        const dividend = this.number(a);
        const divisor = this.number(b);
        return { type: 'number', range: mayBeZero(divisor) ? ANY : quotient(dividend, divisor) };
      }
      case 'days_since': {
        this.time(a, 'days_since(time, since)');
        if (b.kind === 'string') {
          if (parseDateLiteral(b.value) === undefined) {
            throw new ExpressionError(
              `${JSON.stringify(b.value)} is not a date`,
              b.at,
              'write a UTC date such as "2020-01-01" or "2020-01-01T06:00"',
            );
          }
        } else {
          this.time(b, 'days_since(time, since)');
        }
        return { type: 'number', range: ANY };
      }
      default: {
        // hour, dayofweek, week, month
        this.time(a, rule.usage);
        return { type: 'number', range: DATE_PART_RANGES[node.name] ?? ANY };
      }
    }
  }
}

/**
 * Parses and checks an expression in a scope of names.
 *
 * @returns its tree, the type and range of its values and the names it reads
 * @throws ExpressionError for a malformed expression, an unknown name or function, a wrong type,
 *   a division by something that may be zero, or a result that is not a number or a condition
 */
export function checkExpression(text: string, scope: ExpressionScope): CheckedExpression {
  const tree = parseExpression(text);
  const checker = new Checker(scope);
  const value = checker.value(tree);
  if (value.type === 'category' || value.type === 'time' || value.type === 'text') {
    const advice =
      value.type === 'time'
        ? TIME_ADVICE
        : 'a category is a feature as it is; derive a number from it, e.g. if(material == "steel", 1, 0)';
    throw new ExpressionError(
      `the result is ${value.type === 'text' ? 'quoted text' : `a ${value.type}`}, not a number`,
      0,
      advice,
    );
  }
  if (checker.names.size === 0) {
    throw new ExpressionError('the expression reads no column', 0, 'a constant is no feature: use a column');
  }
  return {
    text,
    tree,
    type: value.type === 'boolean' ? 'boolean' : 'number',
    range: value.range,
    names: checker.names,
  };
}
