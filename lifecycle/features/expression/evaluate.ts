/**
 * Evaluates a checked expression over whole columns: each node of the tree is computed once for
 * all rows in a typed-array loop, so the cost is a few passes over the data, not a walk of the
 * tree (let alone of the text) per row.
 *
 * Missing values: a number is missing as NaN, a category as code -1. Whatever reads a missing
 * value is missing (arithmetic, comparisons, category tests, and/or/not, if's condition, min,
 * max, clip, date parts); `log` is missing where its argument is not positive, `log1p` where it is
 * not above -1, `sqrt` where it is negative, `safe_div` where its divisor is 0; a result that is
 * not a finite number (an overflow) is missing too. Conditions are 1 (true) and 0 (false).
 */
import type { CategoricalColumn, Column } from '../../../ml/table';
import { dayOfWeekOf, hourOf, isoWeekOf, MS_PER_DAY, monthOf, parseDateLiteral } from './calendar';
import type { CheckedExpression } from './check';
import { ExpressionError } from './error';
import type { ExpressionNode } from './syntax';

/** An intermediate value: numbers (conditions as 1/0, times as epoch ms), a constant, a category or a text. */
type Value =
  | { kind: 'numbers'; values: Float64Array }
  | { kind: 'constant'; value: number }
  | { kind: 'category'; column: CategoricalColumn }
  | { kind: 'text'; value: string };

/** Labels a boolean column read as categories may hold (`t`/`f` is PostgreSQL's text for booleans). */
const TRUE_LABELS = new Set(['true', 't', '1', 'yes']);
const FALSE_LABELS = new Set(['false', 'f', '0', 'no']);

class Evaluator {
  constructor(
    private readonly checked: CheckedExpression,
    private readonly columns: ReadonlyMap<string, Column>,
    private readonly rowCount: number,
  ) {}

  private numbers(value: Value, at: number): Float64Array {
    if (value.kind === 'numbers') return value.values;
    if (value.kind === 'constant') return new Float64Array(this.rowCount).fill(value.value);
    throw new ExpressionError('a number was expected (the columns do not have the checked types)', at);
  }

  private category(value: Value, at: number): CategoricalColumn {
    if (value.kind === 'category') return value.column;
    throw new ExpressionError('a category was expected (the columns do not have the checked types)', at);
  }

  value(node: ExpressionNode): Value {
    switch (node.kind) {
      case 'number':
        return { kind: 'constant', value: node.value };
      case 'string':
        return { kind: 'text', value: node.value };
      case 'name':
        return this.name(node.name, node.at);
      case 'negate':
        return this.map(this.value(node.operand), node.at, (x) => -x);
      case 'not': {
        const operand = this.numbers(this.value(node.operand), node.at);
        const out = new Float64Array(this.rowCount);
        for (let i = 0; i < out.length; i++) {
          const x = operand[i] as number;
          out[i] = x !== x ? NaN : x === 0 ? 1 : 0;
        }
        return { kind: 'numbers', values: out };
      }
      case 'binary':
        return this.binary(node);
      case 'in':
        return this.membership(node);
      case 'call':
        return this.call(node);
    }
  }

  private name(name: string, at: number): Value {
    const column = this.columns.get(name);
    if (!column) throw new ExpressionError(`no column "${name}" to evaluate`, at);
    if (this.checked.names.get(name) === 'boolean') return { kind: 'numbers', values: booleans(column) };
    if (column.kind === 'categorical') return { kind: 'category', column };
    return { kind: 'numbers', values: column.values };
  }

  /** A one-argument function of numbers, as one loop. */
  private map(value: Value, at: number, apply: (x: number) => number): Value {
    if (value.kind === 'constant') return { kind: 'constant', value: apply(value.value) };
    const input = this.numbers(value, at);
    const out = new Float64Array(this.rowCount);
    for (let i = 0; i < out.length; i++) out[i] = apply(input[i] as number);
    return { kind: 'numbers', values: out };
  }

  private binary(node: Extract<ExpressionNode, { kind: 'binary' }>): Value {
    const left = this.value(node.left);
    const right = this.value(node.right);
    if (
      (node.operator === '==' || node.operator === '!=') &&
      (left.kind === 'category' || right.kind === 'category')
    ) {
      const equal = this.categoryEquality(left, right, node.at);
      return node.operator === '==' ? equal : this.map(equal, node.at, (x) => (x !== x ? NaN : 1 - x));
    }
    if (left.kind === 'constant' && right.kind === 'constant') {
      const out = arithmetic(node.operator, Float64Array.of(left.value), Float64Array.of(right.value));
      return { kind: 'constant', value: out[0] as number };
    }
    return {
      kind: 'numbers',
      values: arithmetic(node.operator, this.numbers(left, node.left.at), this.numbers(right, node.right.at)),
    };
  }

  /** `category == "text"` or `category == category`, as 1 / 0 / NaN per row. */
  private categoryEquality(left: Value, right: Value, at: number): Value {
    const [column, other] =
      left.kind === 'category' ? [left.column, right] : [this.category(right, at), left];
    const out = new Float64Array(column.codes.length);
    if (other.kind === 'text') {
      const match = column.dictionary.indexOf(other.value);
      for (let i = 0; i < out.length; i++) {
        const code = column.codes[i] as number;
        out[i] = code < 0 ? NaN : code === match ? 1 : 0;
      }
      return { kind: 'numbers', values: out };
    }
    const otherColumn = this.category(other, at);
    // The other column's codes in this column's dictionary (-2 for a label this one lacks), so the
    // loop compares integers.
    const position = new Map(column.dictionary.map((label, code) => [label, code]));
    const translated = Int32Array.from(otherColumn.dictionary, (label) => position.get(label) ?? -2);
    for (let i = 0; i < out.length; i++) {
      const code = column.codes[i] as number;
      const otherCode = otherColumn.codes[i] as number;
      out[i] = code < 0 || otherCode < 0 ? NaN : code === translated[otherCode] ? 1 : 0;
    }
    return { kind: 'numbers', values: out };
  }

  private membership(node: Extract<ExpressionNode, { kind: 'in' }>): Value {
    const operand = this.value(node.operand);
    const out = new Float64Array(this.rowCount);
    const inside = node.negated ? 0 : 1;
    if (operand.kind === 'category') {
      const wanted = new Set(node.values.map((value) => String(value.value)));
      const { codes, dictionary } = operand.column;
      const member = Float64Array.from(dictionary, (label) => (wanted.has(label) ? inside : 1 - inside));
      for (let i = 0; i < out.length; i++) {
        const code = codes[i] as number;
        out[i] = code < 0 ? NaN : (member[code] as number);
      }
      return { kind: 'numbers', values: out };
    }
    const wanted = new Set(node.values.map((value) => Number(value.value)));
    const input = this.numbers(operand, node.operand.at);
    for (let i = 0; i < out.length; i++) {
      const x = input[i] as number;
      out[i] = x !== x ? NaN : wanted.has(x) ? inside : 1 - inside;
    }
    return { kind: 'numbers', values: out };
  }

  private call(node: Extract<ExpressionNode, { kind: 'call' }>): Value {
    const args = node.args.map((arg) => this.value(arg));
    const [a, b, c] = args as [Value, Value, Value];
    switch (node.name) {
      case 'log':
        return this.map(a, node.at, (x) => (x > 0 ? Math.log(x) : NaN));
      case 'log1p':
        return this.map(a, node.at, (x) => (x > -1 ? Math.log1p(x) : NaN));
      case 'sqrt':
        return this.map(a, node.at, (x) => (x >= 0 ? Math.sqrt(x) : NaN));
      case 'abs':
        return this.map(a, node.at, Math.abs);
      case 'hour':
        return this.map(a, node.at, hourOf);
      case 'dayofweek':
        return this.map(a, node.at, dayOfWeekOf);
      case 'week':
        return this.map(a, node.at, isoWeekOf);
      case 'month':
        return this.map(a, node.at, monthOf);
      case 'min':
      case 'max': {
        const operator = node.name === 'min' ? 'min' : 'max';
        let out = this.numbers(args[0] as Value, node.at);
        for (const arg of args.slice(1)) out = arithmetic(operator, out, this.numbers(arg, node.at));
        return { kind: 'numbers', values: out };
      }
      case 'clip': {
        const floored = arithmetic('max', this.numbers(a, node.at), this.numbers(b, node.at));
        return { kind: 'numbers', values: arithmetic('min', floored, this.numbers(c, node.at)) };
      }
      case 'safe_div':
        return {
          kind: 'numbers',
          values: arithmetic('safe_div', this.numbers(a, node.at), this.numbers(b, node.at)),
        };
      case 'days_since': {
        const since =
          b.kind === 'text' ? { kind: 'constant' as const, value: parseDateLiteral(b.value) ?? NaN } : b;
        const days = arithmetic('-', this.numbers(a, node.at), this.numbers(since, node.at));
        for (let i = 0; i < days.length; i++) days[i] = (days[i] as number) / MS_PER_DAY;
        return { kind: 'numbers', values: days };
      }
      case 'if': {
        const condition = this.numbers(a, node.at);
        const then = this.numbers(b, node.at);
        const otherwise = this.numbers(c, node.at);
        const out = new Float64Array(this.rowCount);
        for (let i = 0; i < out.length; i++) {
          const test = condition[i] as number;
          out[i] = test !== test ? NaN : test !== 0 ? (then[i] as number) : (otherwise[i] as number);
        }
        return { kind: 'numbers', values: out };
      }
      default:
        throw new ExpressionError(`unknown function "${node.name}"`, node.at);
    }
  }
}

/** A boolean column as 1 / 0 / NaN, whether it arrived as numbers or as labels. */
function booleans(column: Column): Float64Array {
  if (column.kind === 'numeric') {
    return Float64Array.from(column.values, (x) => (x !== x ? NaN : x !== 0 ? 1 : 0));
  }
  const byCode = Float64Array.from(column.dictionary, (label) => {
    const lower = label.toLowerCase();
    return TRUE_LABELS.has(lower) ? 1 : FALSE_LABELS.has(lower) ? 0 : NaN;
  });
  return Float64Array.from(column.codes, (code) => (code < 0 ? NaN : (byCode[code] as number)));
}

type Operator = Extract<ExpressionNode, { kind: 'binary' }>['operator'] | 'min' | 'max' | 'safe_div';

/** One typed-array loop per operator; NaN in, NaN out, comparisons and logic included. */
function arithmetic(operator: Operator, a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  const n = out.length;
  switch (operator) {
    case '+':
      for (let i = 0; i < n; i++) out[i] = (a[i] as number) + (b[i] as number);
      break;
    case '-':
      for (let i = 0; i < n; i++) out[i] = (a[i] as number) - (b[i] as number);
      break;
    case '*':
      for (let i = 0; i < n; i++) out[i] = (a[i] as number) * (b[i] as number);
      break;
    case '/':
      for (let i = 0; i < n; i++) out[i] = (a[i] as number) / (b[i] as number);
      break;
    case 'safe_div':
      for (let i = 0; i < n; i++) {
        const divisor = b[i] as number;
        out[i] = divisor === 0 ? NaN : (a[i] as number) / divisor;
      }
      break;
    case 'min':
      for (let i = 0; i < n; i++) out[i] = Math.min(a[i] as number, b[i] as number);
      break;
    case 'max':
      for (let i = 0; i < n; i++) out[i] = Math.max(a[i] as number, b[i] as number);
      break;
    default:
      compare(operator, a, b, out);
  }
  return out;
}

function compare(
  operator: '==' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or',
  a: Float64Array,
  b: Float64Array,
  out: Float64Array,
): void {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== x || y !== y) {
      out[i] = NaN;
      continue;
    }
    switch (operator) {
      case '==':
        out[i] = x === y ? 1 : 0;
        break;
      case '!=':
        out[i] = x !== y ? 1 : 0;
        break;
      case '<':
        out[i] = x < y ? 1 : 0;
        break;
      case '<=':
        out[i] = x <= y ? 1 : 0;
        break;
      case '>':
        out[i] = x > y ? 1 : 0;
        break;
      case '>=':
        out[i] = x >= y ? 1 : 0;
        break;
      case 'and':
        out[i] = x !== 0 && y !== 0 ? 1 : 0;
        break;
      case 'or':
        out[i] = x !== 0 || y !== 0 ? 1 : 0;
        break;
    }
  }
}

/**
 * The values of a checked expression for every row.
 *
 * @param columns the columns it reads, by name: numbers and times (epoch milliseconds) as numeric
 *   columns, categories as categorical ones, booleans as either; earlier derived features as numeric
 * @param rowCount the number of rows (every column has this many)
 * @returns one number per row, NaN where missing (see the module's notes)
 * @throws ExpressionError when a column is missing or does not have the type it was checked with
 */
export function evaluateExpression(
  checked: CheckedExpression,
  columns: ReadonlyMap<string, Column>,
  rowCount: number,
): Float64Array {
  const evaluator = new Evaluator(checked, columns, rowCount);
  const result = evaluator.value(checked.tree);
  const out =
    result.kind === 'constant'
      ? new Float64Array(rowCount).fill(result.value)
      : result.kind === 'numbers'
        ? Float64Array.from(result.values)
        : undefined;
  if (!out) throw new ExpressionError('the result is not a number', 0);
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) out[i] = NaN;
  return out;
}
