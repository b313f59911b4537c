/**
 * `tokenmeter compare`: contenders (the models of one run, or of several runs)
 * side by side at each load level, each difference to the first contender
 * judged from the per-request samples of requests.jsonl, and a winner marked
 * only where it is beyond the noise (benchstat's "~" otherwise). How each row
 * is judged, and why, is in docs/compare.md.
 */
import { CELL_VALUES_BY_NAME, fieldName, METRICS, type CellValueName, type MetricName } from '../metrics/catalog.js';
import type { CellSummary } from '../metrics/cell-summary.js';
import type { LoadLevel, SideBySide, SideBySideDiff, SideBySideTest, SideBySideValue } from '../types.js';
import { compareSamples, samplesByCell, type CellSamples, type RegressionRule, type RequestLine } from './baseline.js';
import { hodgesLehmann, mannWhitney, newcombe } from './stats.js';
import { cellId, loadKey } from '../util/load-level.js';

/** One side of the comparison: a model's cells from one run, with that run's request lines. */
export interface Contender {
  name: string;
  cells: CellSummary[];
  lines: RequestLine[];
}

/** What a row judges a difference by (SideBySideTest), with the per-request samples it needs. */
type Judge =
  | { test: 'shift' | 'rate'; field: string }
  | { test: 'percentile'; field: string; percentile: number }
  | {
      test: 'proportion';
      share: (samples: CellSamples) => { x: number; n: number } | undefined;
      /** The row's value is not the share itself (goodput, a rate): a difference counts only where both move the same way. */
      alongsideValue?: true;
    }
  | { test: 'none'; why: string };

interface RowSpec {
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** The cell's value; `samples` are the cell's per-request samples, where the row needs them. */
  value: (cell: CellSummary, samples: CellSamples | undefined) => number | undefined;
  judge: Judge;
  absent?: string;
}

/** Derived per-request fields: output characters per second of each request, and 1 for a request within the SLO. */
const CHARS_PER_S = 'output_chars_per_s';
const MET_SLO = 'met_slo_count';

/**
 * A percentile of a distribution, labelled and directed by the catalog. The
 * median is judged by the shift of the whole distribution; a tail percentile
 * by a bootstrap of the percentile itself (docs/compare.md says why).
 */
const percentileRow = (metric: MetricName, p: 50 | 95 | 99): RowSpec => {
  const { label, unit, better, value } = METRICS[metric];
  const field = fieldName(metric);
  // ITL samples are per token: the tokens of one request share its server's state, so counting them as independent would overstate the evidence.
  const judge: Judge = !value
    ? { test: 'none', why: 'not judged: per-token samples are not independent' }
    : p === 50
      ? { test: 'shift', field }
      : { test: 'percentile', field, percentile: p };
  return { metric: `${label} p${p}`, unit, higherIsBetter: better === 'higher', value: (cell) => cell.stats[metric]?.[`p${p}`], judge };
};

/** A cell value, labelled and directed by the catalog; a share reads as a percentage. */
const cellValueRow = (name: CellValueName, judge: Judge): RowSpec => {
  const { label, unit, better, value } = CELL_VALUES_BY_NAME[name];
  const percent = unit === 'share';
  return {
    metric: label,
    unit: percent ? '%' : unit,
    higherIsBetter: better === 'higher',
    value: (cell) => {
      const measured = value(cell);
      return percent && measured !== undefined ? measured * 100 : measured;
    },
    judge,
  };
};

/**
 * Output characters per second of the cell: its token throughput times the
 * characters per token of its successful requests. Characters mean the same
 * under every tokenizer; a folder that did not record them has none.
 */
const charsPerSecondRow: RowSpec = {
  metric: 'output chars/s',
  unit: 'chars/s',
  higherIsBetter: true,
  value: (cell, samples) => {
    const chars = samples?.samples.get('output_chars');
    const tokens = samples?.samples.get('output_tokens');
    if (!chars || !tokens || chars.length !== tokens.length) return undefined;
    const tokenTotal = tokens.reduce((sum, t) => sum + t, 0);
    return tokenTotal > 0 ? cell.outputTokensPerS * (chars.reduce((sum, c) => sum + c, 0) / tokenTotal) : undefined;
  },
  judge: { test: 'rate', field: CHARS_PER_S },
  absent: 'n/a',
};

const ROWS: readonly RowSpec[] = [
  percentileRow('ttft', 50),
  percentileRow('ttft', 95),
  percentileRow('ttft', 99),
  percentileRow('tpot', 50),
  percentileRow('tpot', 95),
  percentileRow('itl', 50),
  percentileRow('itl', 99),
  percentileRow('e2e', 50),
  percentileRow('e2e', 95),
  percentileRow('e2e', 99),
  cellValueRow('output_tokens_per_s', { test: 'rate', field: fieldName('output_tokens_per_s') }),
  charsPerSecondRow,
  cellValueRow('goodput', {
    test: 'proportion',
    share: (cell) => {
      const met = cell.samples.get(MET_SLO);
      return met ? { x: met.reduce((sum, v) => sum + v, 0), n: cell.requests } : undefined;
    },
    alongsideValue: true,
  }),
  cellValueRow('errors.rate', { test: 'proportion', share: (cell) => ({ x: cell.failed, n: cell.requests }) }),
];

/** The requests.jsonl fields the rows read, for samplesByCell (which reads only `field`). */
const SAMPLED_FIELDS: RegressionRule[] = [
  ...new Set([...ROWS.flatMap((row) => ('field' in row.judge ? [row.judge.field] : [])), 'output_chars', 'output_tokens', MET_SLO]),
].map((field) => ({ key: field, field, percentile: 50, higherIsBetter: false, margin: 0 }));

/** A line with the derived fields the rows judge by. */
function withDerivedFields(line: RequestLine): RequestLine {
  const chars = line.output_chars;
  const e2eMs = line.e2e_ms;
  const derived: Record<string, number> = {};
  if (typeof chars === 'number' && typeof e2eMs === 'number' && e2eMs > 0) derived[CHARS_PER_S] = chars / (e2eMs / 1000);
  if (typeof line.met_slo === 'boolean') derived[MET_SLO] = line.met_slo ? 1 : 0;
  return { ...line, ...derived };
}

/**
 * The side-by-side comparison. `confidence` is family-wise per row: with k
 * contenders a row makes k − 1 comparisons, so each interval is taken at
 * 1 − (1 − confidence)/(k − 1) (Bonferroni).
 */
export function compareContenders(contenders: readonly Contender[], confidence = 0.95): SideBySide {
  const loads = new Map<string, LoadLevel>();
  for (const contender of contenders) for (const cell of contender.cells) loads.set(loadKey(cell.load), cell.load);
  // A ramp or a trace beside a steady rate of the same value is its own level, after it.
  const sortedLoads = [...loads.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.value - b.value || loadKey(a).localeCompare(loadKey(b)));
  const comparisons = Math.max(1, contenders.length - 1);
  const testConfidence = 1 - (1 - confidence) / comparisons;
  // Each contender's per-request samples by cell, gathered once for every level and row.
  const samplesOf = contenders.map((c) => samplesByCell(c.lines.map(withDerivedFields), SAMPLED_FIELDS));
  return {
    contenders: contenders.map((c) => c.name),
    confidence,
    testConfidence,
    notes: notesOf(contenders),
    levels: sortedLoads.map((load) => {
      const cells = contenders.map((c) => c.cells.find((cell) => loadKey(cell.load) === loadKey(load)));
      const samples = cells.map((cell, i) => (cell ? samplesOf[i]!.get(cellId(cell)) : undefined));
      return { load, rows: ROWS.map((row) => compareRow(row, cells, samples, testConfidence)) };
    }),
  };
}

/** What the reader must know before reading the tables. */
function notesOf(contenders: readonly Contender[]): string[] {
  const notes: string[] = [];
  const tokenizers = contenders.map((c) => [...new Set(c.cells.map((cell) => cell.tokenizer))].join('+'));
  if (new Set(tokenizers).size > 1) {
    notes.push(
      `The contenders count tokens with different tokenizers (${contenders.map((c, i) => `${c.name}: ${tokenizers[i]}`).join(', ')}): ` +
        'a token is not the same amount of text, so tok/s, TPOT and ITL do not compare across them; output chars/s does.',
    );
  }
  const without = contenders.filter((c) => c.lines.some((line) => line.outcome === 'ok' && !line.warmup && typeof line.output_chars !== 'number'));
  if (without.length > 0) {
    notes.push(`output chars/s is n/a for ${without.map((c) => c.name).join(', ')}: its requests.jsonl has no output_chars (written before tokenmeter recorded it).`);
  }
  return notes;
}

type Row = SideBySide['levels'][number]['rows'][number];

function compareRow(row: RowSpec, cells: (CellSummary | undefined)[], samples: (CellSamples | undefined)[], confidence: number): Row {
  const raw = cells.map((cell, i) => (cell ? row.value(cell, samples[i]) : undefined));
  // winnerOf and the differences to the first contender ask for the same pair when contender 0 is best: judge each pair once.
  const judged = new Map<string, SideBySideDiff | undefined>();
  const judge = (reference: number, other: number): SideBySideDiff | undefined => {
    const key = `${reference}:${other}`;
    if (!judged.has(key)) judged.set(key, judgeDifference(row, raw, samples, reference, other, confidence));
    return judged.get(key);
  };
  const winner = winnerOf(row, raw, judge);
  const values = raw.map((value, i): SideBySideValue | undefined => {
    if (value === undefined) return undefined;
    const entry: SideBySideValue = { value, best: i === winner };
    const n = sampleSize(row.judge, samples[i]);
    if (n !== undefined) entry.n = n;
    if (i > 0) {
      const diff = judge(0, i);
      if (diff) entry.diff = diff;
    }
    return entry;
  });
  return { metric: row.metric, unit: row.unit, higherIsBetter: row.higherIsBetter, test: row.judge.test, values, ...(row.absent ? { absent: row.absent } : {}) };
}

/**
 * The contender with the best value, if it is significantly better than
 * every other contender's (k − 1 comparisons, each at the corrected
 * confidence); otherwise none, and a tie is none.
 */
function winnerOf(row: RowSpec, raw: (number | undefined)[], judge: (reference: number, other: number) => SideBySideDiff | undefined): number | undefined {
  const present = raw.flatMap((value, i) => (value === undefined ? [] : [i]));
  if (present.length < 2) return undefined;
  const better = (a: number, b: number) => (row.higherIsBetter ? a > b : a < b);
  const best = present.reduce((x, y) => (better(raw[y]!, raw[x]!) ? y : x));
  if (present.some((i) => i !== best && !better(raw[best]!, raw[i]!))) return undefined;
  const beaten = present.every((i) => {
    if (i === best) return true;
    const diff = judge(best, i);
    // The other contender is worse than the best one: a higher latency, a lower throughput.
    return diff?.significant === true && (row.higherIsBetter ? diff.change < 0 : diff.change > 0);
  });
  return beaten ? best : undefined;
}

/** How many samples the row's test takes from a contender's cell. */
function sampleSize(judge: Judge, samples: CellSamples | undefined): number | undefined {
  if (!samples) return undefined;
  if (judge.test === 'proportion') return judge.share(samples)?.n;
  if (judge.test === 'none') return undefined;
  return samples.samples.get(judge.field)?.length ?? 0;
}

/**
 * A relative difference smaller than this is no winner, however significant
 * (Criterion.rs's noise threshold): two runs of one build differ by a few
 * tenths of a percent that many samples make "significant" and nobody acts on.
 */
export const NOISE_THRESHOLD = 0.02;

/** The whole interval beyond ±NOISE_THRESHOLD (Criterion.rs's rule): significant, and a difference worth acting on. */
const beyondNoise = (interval: [number, number]): boolean => interval[0] > NOISE_THRESHOLD || interval[1] < -NOISE_THRESHOLD;

/** Fewer samples a side than this, and the rank test's normal approximation is not to be trusted. */
const MIN_SHIFT_SAMPLES = 8;

/** The difference of contender `other` to contender `reference`, judged as the row says. */
function judgeDifference(
  row: RowSpec,
  raw: (number | undefined)[],
  samples: (CellSamples | undefined)[],
  reference: number,
  other: number,
  confidence: number,
): SideBySideDiff | undefined {
  const a = raw[reference];
  const b = raw[other];
  if (a === undefined || b === undefined) return undefined;
  const judge = row.judge;
  if (judge.test === 'proportion') {
    const base = samples[reference] && judge.share(samples[reference]);
    const current = samples[other] && judge.share(samples[other]);
    if (!base || !current || base.n === 0 || current.n === 0) return { change: (b - a) / 100, unjudged: 'no requests' };
    const { estimate, interval } = newcombe(base, current, confidence);
    const excludesZero = interval[0] > 0 || interval[1] < 0;
    if (!judge.alongsideValue) return { change: estimate, interval, significant: excludesZero };
    // Goodput is a rate over the window; the share within the SLO is what the requests can attest, so both must move the same way.
    if (a === 0) return undefined;
    const change = (b - a) / a;
    return { change, interval, significant: excludesZero && Math.sign(change) === Math.sign(estimate), of: { what: 'within SLO', estimate, points: true } };
  }
  const relative = a !== 0 ? (b - a) / a : undefined;
  if (judge.test === 'none') return relative === undefined ? undefined : { change: relative, unjudged: judge.why };
  const x = samples[reference]?.samples.get(judge.field) ?? [];
  const y = samples[other]?.samples.get(judge.field) ?? [];
  if (judge.test === 'percentile') {
    if (relative === undefined) return undefined;
    const rule: RegressionRule = { key: row.metric, field: judge.field, percentile: judge.percentile, higherIsBetter: false, margin: 0 };
    const needed = Math.ceil(1 / (1 - judge.percentile / 100));
    if (x.length === 0 || y.length === 0) return { change: relative, unjudged: 'no samples' };
    const { worsening, interval } = compareSamples(x, y, rule, { confidence });
    if (!interval) return { change: worsening, unjudged: `too few samples for p${judge.percentile} (${needed} a side)` };
    return { change: worsening, interval, significant: beyondNoise(interval) };
  }
  const logX = x.filter((v) => v > 0).map(Math.log);
  const logY = y.filter((v) => v > 0).map(Math.log);
  if (logX.length < MIN_SHIFT_SAMPLES || logY.length < MIN_SHIFT_SAMPLES) {
    return relative === undefined ? undefined : { change: relative, unjudged: `too few samples (${MIN_SHIFT_SAMPLES} a side)` };
  }
  // On log values the shift is a ratio: exp(shift) − 1 is the relative change.
  const shift = hodgesLehmann(logX, logY, confidence);
  const interval: [number, number] = [Math.expm1(shift.interval[0]), Math.expm1(shift.interval[1])];
  const p = mannWhitney(logX, logY).p;
  if (judge.test === 'shift') return { change: Math.expm1(shift.estimate), interval, p, significant: beyondNoise(interval) };
  // A cell's throughput is one number per run: its requests' rates carry the evidence, and count only when the cell moved the same way.
  if (relative === undefined) return undefined;
  return {
    change: relative,
    interval,
    p,
    significant: beyondNoise(interval) && Math.sign(relative) === Math.sign(shift.estimate),
    of: { what: 'per request', estimate: Math.expm1(shift.estimate) },
  };
}
