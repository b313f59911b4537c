import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateThresholds } from '../../src/check/thresholds.ts';
import { parseThreshold } from '../../src/scenario/thresholds.ts';
import { ALPHA, cellSummary, REQUESTS_PER_CELL, ttftMs } from '../report/fixture.ts';

const cells = [cellSummary(ALPHA, 1), cellSummary(ALPHA, 4)];
/** The nearest-rank p95 of the fixture's TTFTs at a level (HDR keeps 3 significant digits). */
const ttftP95 = (concurrency: number) => ttftMs(ALPHA, concurrency, Math.ceil(0.95 * REQUESTS_PER_CELL) - 1);

test('thresholds are checked on every cell they select, with the measured value', () => {
  const results = evaluateThresholds(
    ['ttft.p95 < 220ms', 'ttft.p95{concurrency=1} < 220ms', 'errors.rate < 1%', 'ttft.count >= 20'].map(parseThreshold),
    cells,
  );
  assert.deepEqual(
    results.map((r) => [r.threshold.source, r.cell?.load.value, r.ok]),
    [
      ['ttft.p95 < 220ms', 1, true],
      ['ttft.p95 < 220ms', 4, false],
      ['ttft.p95{concurrency=1} < 220ms', 1, true],
      ['errors.rate < 1%', 1, true],
      ['errors.rate < 1%', 4, true],
      ['ttft.count >= 20', 1, true],
      ['ttft.count >= 20', 4, true],
    ],
  );
  assert.ok(Math.abs(results[1]!.measured! - ttftP95(4)) / ttftP95(4) < 0.001, `${results[1]!.measured} vs ${ttftP95(4)}`);
  assert.equal(results[3]!.measured, 0);
});

test('a threshold that selects no cell fails (a run cut short never ran that level)', () => {
  const [result] = evaluateThresholds([parseThreshold('ttft.p95{concurrency=16} < 1s')], cells);
  assert.equal(result!.ok, false);
  assert.equal(result!.cell, undefined);
});

test('goodput without an SLO has no value, and fails', () => {
  const [result] = evaluateThresholds([parseThreshold('goodput > 0')], [cellSummary(ALPHA, 1)].map(({ goodputPerS: _g, ...cell }) => cell));
  assert.equal(result!.measured, undefined);
  assert.equal(result!.ok, false);
});

test("a trace's cell is selected by its speed-up, not by its float mean rate; a steady cell of the same rate is not a trace's", () => {
  const trace = (speedup: number, value: number) => ({ ...cellSummary(ALPHA, 1), load: { kind: 'rate' as const, value, trace: { speedup } } });
  const steady = { ...cellSummary(ALPHA, 1), load: { kind: 'rate' as const, value: 15.2 } };
  const results = evaluateThresholds([parseThreshold('ttft.count >= 1'), parseThreshold('ttft.count{speedup=2} >= 1')], [trace(1, 7.6), trace(2, 15.2), steady]);
  assert.deepEqual(
    results.map((r) => [r.threshold.source, r.cell?.load.value, r.cell?.load.trace?.speedup, r.ok]),
    [
      ['ttft.count >= 1', 7.6, 1, true],
      ['ttft.count >= 1', 15.2, 2, true],
      ['ttft.count >= 1', 15.2, undefined, true],
      ['ttft.count{speedup=2} >= 1', 15.2, 2, true],
    ],
  );
});
