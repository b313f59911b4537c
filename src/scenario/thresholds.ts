/**
 * The threshold grammar, k6-style but for LLM metrics. Parsed once, when the
 * scenario loads; a bad expression is reported with the column where it went
 * wrong.
 *
 *   threshold := subject selector? op number unit?
 *   subject   := METRIC "." STAT            histogram metric: ttft.p95, tpot.p99.9, itl.mean, e2e.max
 *              | "output_tokens_per_s" | "requests_per_s" | "goodput"      cell throughput (per second)
 *              | ("errors" | "dropped") "." ("rate" | "count")
 *   STAT      := "p" NUMBER | "mean" | "min" | "max" | "stdev" | "count"   (p95, p99.9, p999 = 99.9)
 *   selector  := "{" key "=" value ("," key "=" value)* "}"   key: model | concurrency | rate | speedup
 *                                        (speedup: a replayed trace's cell, by its load.trace.speedup)
 *   op        := "<" | "<=" | ">" | ">="
 *   unit      := "ms" | "s"               times (default ms)
 *              | "%"                      rates (default: a share, 0.01 = 1%)
 *              | "tok/s" | "req/s"        throughputs (the default unit, may be written)
 *
 * Examples: `ttft.p95 < 500ms`, `tpot.p99 <= 40ms`, `output_tokens_per_s > 900`,
 * `errors.rate < 1%`, `ttft.p99{model=gpt-oss-120b, concurrency=8} < 2s`, `ttft.p95{speedup=2} < 1s`.
 *
 * The metrics, the cell values and their units are the metric catalog's
 * (metrics/catalog.ts); this file knows only how each unit may be written.
 */
import {
  CELL_VALUES,
  cellValueNamed,
  METRIC_NAMES,
  METRICS,
  type CellValue,
  type CellValueSubject,
  type MetricName,
  type Unit,
} from '../metrics/catalog.js';
import type { Threshold, ThresholdOp } from '../types.js';
import { parsePercentile } from './slo.js';

/** Cell values named whole (`goodput`), from the catalog. */
const WHOLE_VALUES = CELL_VALUES.map((value) => value.name).filter((name) => !name.includes('.'));
/** Cell values named with a statistic (`errors.rate`): the statistics each subject takes. */
const COUNTED = new Map<string, string[]>();
for (const { name } of CELL_VALUES) {
  const [head, stat] = name.split('.') as [string, string | undefined];
  if (stat !== undefined) COUNTED.set(head, [...(COUNTED.get(head) ?? []), stat]);
}

/** How a value in each unit may be written: unit → factor to the catalog's unit; none: a plain number only. */
const WRITTEN_UNITS: Record<Unit, Record<string, number>> = {
  ms: { ms: 1, s: 1000 },
  share: { '%': 0.01 },
  'tokens/s': { 'tok/s': 1 },
  'req/s': { 'req/s': 1 },
  count: {},
  tokens: {},
};

export class ThresholdSyntaxError extends Error {
  constructor(
    /** 1-based column in the expression. */
    readonly column: number,
    message: string,
  ) {
    super(`col ${column}: ${message}`);
    this.name = 'ThresholdSyntaxError';
  }
}

/** Parses one expression; throws ThresholdSyntaxError with the column of the problem. */
export function parseThreshold(source: string): Threshold {
  const scanner = new Scanner(source);
  scanner.skipSpaces();
  const subjectAt = scanner.column;
  const name = scanner.take(/^[a-z_][a-z0-9_]*(\.(p\d+(\.\d+)?|[a-z]+))?/);
  if (!name) throw new ThresholdSyntaxError(subjectAt, 'expected a metric such as ttft.p95, output_tokens_per_s or errors.rate');
  const subject = subjectOf(name, subjectAt);
  const { metric, stat } = subject;
  scanner.skipSpaces();
  const filters = parseSelector(scanner);
  scanner.skipSpaces();
  const opAt = scanner.column;
  const op = scanner.take(/^(<=|>=|<|>)/) as ThresholdOp | undefined;
  if (!op) throw new ThresholdSyntaxError(opAt, `expected <, <=, > or >= after ${name}`);
  scanner.skipSpaces();
  const numberAt = scanner.column;
  const number = scanner.take(/^\d+(\.\d+)?/);
  if (!number) throw new ThresholdSyntaxError(numberAt, `expected a number after ${op}`);
  scanner.skipSpaces();
  const unitAt = scanner.column;
  const unit = scanner.take(/^(ms|s|%|tok\/s|req\/s)/);
  scanner.skipSpaces();
  if (!scanner.done) throw new ThresholdSyntaxError(scanner.column, `unexpected "${scanner.rest}"`);
  const subjectUnit = thresholdUnit(subject);
  const value = inUnit(Number(number), unit, subjectUnit, unitAt, name);
  if (subjectUnit === 'share' && value > 1) throw new ThresholdSyntaxError(numberAt, `${name} is a share from 0 to 1, or a percentage with %: ${name} < 1%`);
  return { source, metric, ...(stat !== undefined ? { stat } : {}), filters, op, value };
}

function subjectOf(name: string, column: number): Pick<Threshold, 'metric' | 'stat'> {
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const tail = dot < 0 ? undefined : name.slice(dot + 1);
  if (WHOLE_VALUES.includes(head) && tail === undefined) return { metric: head as CellValueSubject };
  const stats = COUNTED.get(head);
  if (stats) {
    if (tail === undefined || !stats.includes(tail)) {
      throw new ThresholdSyntaxError(column, `${head} takes ${stats.map((stat) => `.${stat}`).join(' or ')} (${head}.rate < 1%)`);
    }
    return { metric: head as CellValueSubject, stat: tail as 'rate' | 'count' };
  }
  if (!(METRIC_NAMES as readonly string[]).includes(head)) {
    throw new ThresholdSyntaxError(
      column,
      `unknown metric "${head}"; use one of ${METRIC_NAMES.join(', ')} with a statistic (ttft.p95), or ${WHOLE_VALUES.join(', ')}, errors.rate, dropped.count`,
    );
  }
  const metric = head as MetricName;
  if (tail === undefined) throw new ThresholdSyntaxError(column + name.length, `${metric} needs a statistic: ${metric}.p95, ${metric}.mean, ${metric}.max`);
  const stat = statOf(tail);
  if (stat === undefined) throw new ThresholdSyntaxError(column + dot + 1, `unknown statistic "${tail}": use p50, p95, p99, p99.9, mean, min, max, stdev or count`);
  return { metric, stat };
}

/** The cell value a threshold bounds (`goodput`, `errors.rate`); undefined when it bounds a statistic of a distribution. */
export function thresholdCellValue(threshold: Pick<Threshold, 'metric' | 'stat'>): CellValue | undefined {
  return cellValueNamed(threshold.stat === undefined ? threshold.metric : `${threshold.metric}.${threshold.stat}`);
}

/** The unit of what a threshold bounds: the cell value's, a count's, or the distribution's (catalog). */
export function thresholdUnit(threshold: Pick<Threshold, 'metric' | 'stat'>): Unit {
  const cellValue = thresholdCellValue(threshold);
  if (cellValue) return cellValue.unit;
  return threshold.stat === 'count' ? 'count' : METRICS[threshold.metric as MetricName].unit;
}

/** A statistic's name, or a percentile (`p95`, `p99.9`); undefined when it is neither. */
function statOf(text: string): Threshold['stat'] | undefined {
  if (['mean', 'min', 'max', 'stdev', 'count'].includes(text)) return text as Threshold['stat'];
  return parsePercentile(text);
}

function parseSelector(scanner: Scanner): Threshold['filters'] {
  const filters: Threshold['filters'] = {};
  if (!scanner.take(/^\{/)) return filters;
  for (;;) {
    scanner.skipSpaces();
    const keyAt = scanner.column;
    const key = scanner.take(/^(model|concurrency|rate|speedup)\s*=/)?.replace(/\s*=$/, '');
    if (!key) throw new ThresholdSyntaxError(keyAt, 'expected model=NAME, concurrency=N, rate=R or speedup=S inside {…}');
    scanner.skipSpaces();
    const valueAt = scanner.column;
    const value = scanner.take(/^[^,}\s]+/);
    if (!value) throw new ThresholdSyntaxError(valueAt, `expected a value after ${key}=`);
    if (key in filters) throw new ThresholdSyntaxError(keyAt, `${key} is given twice`);
    if (key === 'model') filters.model = value;
    else if (/^\d+(\.\d+)?$/.test(value) && Number(value) > 0) filters[key as 'concurrency' | 'rate' | 'speedup'] = Number(value);
    else throw new ThresholdSyntaxError(valueAt, `${key} must be a positive number, not "${value}"`);
    if (filters.concurrency !== undefined && filters.rate !== undefined) {
      throw new ThresholdSyntaxError(keyAt, 'a cell has a concurrency or a rate, never both');
    }
    if (filters.concurrency !== undefined && filters.speedup !== undefined) {
      throw new ThresholdSyntaxError(keyAt, 'a trace cell has a rate, never a concurrency');
    }
    scanner.skipSpaces();
    if (scanner.take(/^\}/)) return filters;
    if (!scanner.take(/^,/)) throw new ThresholdSyntaxError(scanner.column, 'expected "," or "}"');
  }
}

function inUnit(number: number, written: string | undefined, unit: Unit, column: number, name: string): number {
  if (written === undefined) return number;
  const factor = WRITTEN_UNITS[unit][written];
  if (factor === undefined) {
    const units = Object.keys(WRITTEN_UNITS[unit]);
    throw new ThresholdSyntaxError(column, `${name} cannot be in ${written}${units.length ? `; use ${units.join(' or ')}` : '; write a plain number'}`);
  }
  return number * factor;
}

/** A cursor over the expression, counting columns from 1. */
class Scanner {
  private position = 0;

  constructor(private readonly text: string) {}

  get column(): number {
    return this.position + 1;
  }

  get done(): boolean {
    return this.position >= this.text.length;
  }

  get rest(): string {
    return this.text.slice(this.position);
  }

  /** Consumes and returns the match of `pattern` (anchored with ^) at the cursor, if any. */
  take(pattern: RegExp): string | undefined {
    const match = pattern.exec(this.rest);
    if (!match) return undefined;
    this.position += match[0].length;
    return match[0];
  }

  skipSpaces(): void {
    this.take(/^\s+/);
  }
}
