import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestLine } from '../../src/check/baseline.ts';
import { compareContenders, type Contender } from '../../src/check/compare.ts';
import { newcombe } from '../../src/check/stats.ts';
import type { CellSummary } from '../../src/metrics/cell-summary.ts';
import { seededRandom } from '../../src/util/random.ts';
import { ALPHA, BETA, cellSummary } from '../report/fixture.ts';

/** 48 seeded requests of one cell: TTFT around `ttftMs` (±15%), the rest around fixed values; `failed` of them errors. */
function requestLines(model: string, ttftMs: number, seed: number, failed = 0): RequestLine[] {
  const random = seededRandom(seed);
  return Array.from({ length: 48 }, (_, i) => {
    const jitter = () => 1 + 0.3 * (random() - 0.5);
    const e2e = 400 * jitter();
    return {
      model,
      concurrency: 4,
      warmup: false,
      outcome: i < failed ? 'error' : 'ok',
      ttft_ms: ttftMs * jitter(),
      tpot_ms: 10 * jitter(),
      e2e_ms: e2e,
      output_tokens: 30,
      output_chars: 150,
      output_tokens_per_s: 30 / (e2e / 1000),
    };
  });
}

/** A contender whose one cell has the TTFT p50 given (the rest from the report fixture). */
function contender(name: string, lines: RequestLine[], ttftP50: number, model = ALPHA): Contender {
  const cell = cellSummary(model, 4);
  const cells: CellSummary[] = [{ ...cell, stats: { ...cell.stats, ttft: { ...cell.stats.ttft!, p50: ttftP50 } } }];
  return { name, cells, lines };
}

const rowOf = (comparison: ReturnType<typeof compareContenders>, metric: string) => comparison.levels[0]!.rows.find((row) => row.metric === metric)!;

test('side by side: the rows, their units, which way is better and how each is judged', () => {
  const comparison = compareContenders([
    { name: 'a', cells: [cellSummary(ALPHA, 4)], lines: [] },
    { name: 'b', cells: [cellSummary(BETA, 4)], lines: [] },
  ]);
  assert.deepEqual(
    comparison.levels[0]!.rows.map((row) => [row.metric, row.unit, row.higherIsBetter, row.test]),
    [
      ['TTFT p50', 'ms', false, 'shift'],
      ['TTFT p95', 'ms', false, 'percentile'],
      ['TTFT p99', 'ms', false, 'percentile'],
      ['TPOT p50', 'ms', false, 'shift'],
      ['TPOT p95', 'ms', false, 'percentile'],
      ['ITL p50', 'ms', false, 'none'],
      ['ITL p99', 'ms', false, 'none'],
      ['E2E p50', 'ms', false, 'shift'],
      ['E2E p95', 'ms', false, 'percentile'],
      ['E2E p99', 'ms', false, 'percentile'],
      ['output tok/s', 'tokens/s', true, 'rate'],
      ['output chars/s', 'chars/s', true, 'rate'],
      ['goodput', 'req/s', true, 'proportion'],
      ['error rate', '%', false, 'proportion'],
    ],
  );
});

test('side by side: without per-request samples nothing is marked, however far apart the values', () => {
  const comparison = compareContenders([
    { name: 'a', cells: [cellSummary(ALPHA, 4)], lines: [] },
    { name: 'b', cells: [cellSummary(BETA, 4)], lines: [] },
  ]);
  assert.equal(comparison.levels[0]!.rows.flatMap((row) => row.values).filter((value) => value?.best).length, 0);
  // Characters were not recorded: the row has no value, and reads n/a.
  assert.deepEqual(rowOf(comparison, 'output chars/s').values, [undefined, undefined]);
  assert.equal(rowOf(comparison, 'output chars/s').absent, 'n/a');
});

test('side by side: the same requests on both sides mark no winner in any row, and no difference is significant', () => {
  const lines = requestLines(ALPHA, 100, 7);
  const comparison = compareContenders([contender('a', lines, 100), contender('b', lines, 100)]);
  const values = comparison.levels[0]!.rows.flatMap((row) => row.values);
  assert.equal(values.filter((value) => value?.best).length, 0);
  assert.equal(values.filter((value) => value?.diff?.significant).length, 0);
  const ttft = rowOf(comparison, 'TTFT p50').values[1]!;
  assert.equal(ttft.diff!.change, 0);
  assert.ok(ttft.diff!.p! > 0.999, `${ttft.diff!.p}`);
  assert.equal(ttft.n, 48);
});

test('side by side: TTFT 1.5× on every request marks the faster contender, the shift inside its interval, with p and n', () => {
  const comparison = compareContenders([contender('fast', requestLines(ALPHA, 100, 7), 100), contender('slow', requestLines(ALPHA, 150, 8), 150)]);
  const ttft = rowOf(comparison, 'TTFT p50');
  assert.deepEqual(ttft.values.map((value) => value?.best), [true, false]);
  const diff = ttft.values[1]!.diff!;
  assert.equal(diff.significant, true);
  assert.ok(diff.interval![0] <= diff.change && diff.change <= diff.interval![1], JSON.stringify(diff));
  assert.ok(diff.interval![0] > 0.35 && diff.interval![1] < 0.65, JSON.stringify(diff));
  assert.ok(diff.p! < 0.001, `${diff.p}`);
  assert.deepEqual(ttft.values.map((value) => value?.n), [48, 48]);
  // TPOT and E2E were drawn alike: noise, no winner.
  assert.deepEqual(rowOf(comparison, 'TPOT p50').values.map((value) => value?.best), [false, false]);
});

test('side by side: an error rate of 0/48 against 4/48 is judged by Newcombe\'s interval, in points', () => {
  const comparison = compareContenders([contender('a', requestLines(ALPHA, 100, 7), 100), contender('b', requestLines(ALPHA, 100, 7, 4), 100)]);
  const diff = rowOf(comparison, 'error rate').values[1]!.diff!;
  const expected = newcombe({ x: 0, n: 48 }, { x: 4, n: 48 }, 0.95);
  assert.equal(diff.change, expected.estimate);
  assert.deepEqual(diff.interval, expected.interval);
  assert.equal(diff.significant, expected.interval[0] > 0);
  assert.deepEqual(rowOf(comparison, 'error rate').values.map((value) => value?.n), [48, 48]);
});

test('side by side: with three contenders each interval is Bonferroni-corrected, and the winner must beat both others', () => {
  const comparison = compareContenders([
    contender('a', requestLines(ALPHA, 100, 7), 100),
    contender('b', requestLines(ALPHA, 100, 9), 100.5),
    contender('c', requestLines(ALPHA, 150, 8), 150),
  ]);
  assert.equal(comparison.testConfidence, 1 - 0.05 / 2);
  // a is the lowest, but not significantly lower than b: no winner.
  assert.deepEqual(rowOf(comparison, 'TTFT p50').values.map((value) => value?.best), [false, false, false]);
  assert.equal(rowOf(comparison, 'TTFT p50').values[2]!.diff!.significant, true);
});

test('side by side: contenders that count tokens with different tokenizers are told so, and characters per second are shown', () => {
  const alpha = contender('a', requestLines(ALPHA, 100, 7), 100);
  const beta = contender('b', requestLines(ALPHA, 100, 7), 100);
  beta.cells = beta.cells.map((cell) => ({ ...cell, tokenizer: 'o200k' }));
  const comparison = compareContenders([alpha, beta]);
  assert.equal(comparison.notes.length, 1);
  assert.match(comparison.notes[0]!, /different tokenizers \(a: [^,]+, b: o200k\).*output chars\/s does/);
  const chars = rowOf(comparison, 'output chars/s').values;
  // 150 characters for 30 tokens: five characters a token, times the cell's token throughput.
  assert.equal(chars[0]!.value, alpha.cells[0]!.outputTokensPerS * 5);
});

test('side by side: a 2→20 req/s ramp is not set beside a steady 2 req/s run: two levels, each with one contender, nothing judged', () => {
  const atRate = (lines: RequestLine[], extra: Partial<RequestLine>) => lines.map(({ concurrency: _c, ...line }) => ({ ...line, rate: 2, ...extra }) as RequestLine);
  const steadyLoad = { kind: 'rate' as const, value: 2 };
  const rampLoad = { kind: 'rate' as const, value: 2, ramp: { toRate: 20, overMs: 60_000 } };
  const steady: Contender = { name: 'steady', cells: [{ ...cellSummary(ALPHA, 4), load: steadyLoad }], lines: atRate(requestLines(ALPHA, 100, 1), {}) };
  const ramp: Contender = { name: 'ramp', cells: [{ ...cellSummary(ALPHA, 4), load: rampLoad }], lines: atRate(requestLines(ALPHA, 150, 2), { ramp_to: 20, ramp_over_ms: 60_000 }) };
  const comparison = compareContenders([steady, ramp]);
  assert.deepEqual(comparison.levels.map((level) => level.load), [steadyLoad, rampLoad]);
  for (const [i, level] of comparison.levels.entries()) {
    for (const row of level.rows) {
      assert.equal(row.values.filter((value) => value !== undefined).length, 1, `${row.metric} at level ${i}`);
      assert.ok(row.values.every((value) => value === undefined || value.diff === undefined), `${row.metric}: nothing to judge against`);
      assert.equal(row.values[1 - i], undefined);
    }
  }
});
