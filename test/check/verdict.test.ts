import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_MAX_REGRESSION, parseRegressionRules, type RequestLine } from '../../src/check/baseline.ts';
import { planSizes, proportionSize } from '../../src/check/plan.ts';
import { judgeRuns } from '../../src/check/verdict.ts';
import { renderComparisonLines } from '../../src/check/render.ts';
import { seededRandom, type Random } from '../../src/util/random.ts';
import { REPO_ROOT } from '../helpers.ts';

/** The simulator's own recorded requests: the bundled CI baseline's (scenarios/ci.yaml) first repeat, warm-up left out. */
const recorded: RequestLine[] = readFileSync(path.join(REPO_ROOT, 'results', 'baselines', 'ci', 'requests.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as RequestLine)
  .filter((line) => !line.warmup && (line.repeat === undefined || line.repeat === 1))
  .map(({ repeat: _, ...line }) => line as RequestLine);
const cells = [...new Set(recorded.map((line) => line.concurrency))];
const perCell = recorded.filter((line) => line.concurrency === cells[0]).length;

/** A synthetic run (default: the CI scenario's size): each cell's requests drawn with replacement from the recorded ones, TTFT scaled. */
function syntheticRun(random: Random, ttftScale = 1, size = perCell): RequestLine[] {
  return cells.flatMap((concurrency) => {
    const pool = recorded.filter((line) => line.concurrency === concurrency);
    return Array.from({ length: size }, () => {
      const line = pool[Math.floor(random() * pool.length)]!;
      return { ...line, ttft_ms: (line.ttft_ms as number) * ttftScale };
    });
  });
}

const defaults = parseRegressionRules(DEFAULT_MAX_REGRESSION);

test('power: over 200 seeded pairs at the CI scenario\'s size, +10% TTFT is flagged ≥ 95% of the time and the same build by a whole check ≤ 2%', () => {
  const random = seededRandom(15);
  let shiftFlagged = 0;
  let sameFlagged = 0;
  let sameOk = 0;
  for (let i = 0; i < 200; i++) {
    const baseline = syntheticRun(random);
    const shifted = judgeRuns(baseline, syntheticRun(random, 1.1), defaults).verdicts;
    if (shifted.filter((v) => v.rule.key === 'ttft.p50').every((v) => v.outcome === 'regression')) shiftFlagged++;
    const same = judgeRuns(baseline, syntheticRun(random), defaults).verdicts;
    if (same.some((v) => v.outcome === 'regression')) sameFlagged++;
    if (same.filter((v) => v.rule.percentile === 50).every((v) => v.outcome === 'ok')) sameOk++;
  }
  // Measured (docs/ci.md): 200 of 200 flagged; 0 of 200 false alarms; every p50 rule ok in 200 of 200.
  assert.ok(shiftFlagged >= 190, `+10% TTFT flagged in ${shiftFlagged} of 200`);
  assert.ok(sameFlagged <= 4, `the same build flagged in ${sameFlagged} of 200`);
  assert.ok(sameOk >= 190, `the same build's p50 rules all ok in ${sameOk} of 200`);
});

test("the issue's cases, at its 48 requests per cell: +30% TTFT fails naming ttft; 0 → 4 of 48 failed fails naming errors.rate; the same build is ok or inconclusive", () => {
  const random = seededRandom(3);
  const run = (scale = 1) => syntheticRun(random, scale, 48);
  const baseline = run();
  const slower = judgeRuns(baseline, run(1.3), defaults).verdicts;
  assert.deepEqual([...new Set(slower.filter((v) => v.outcome === 'regression').map((v) => v.rule.key))], ['ttft.p50']);
  // 48 requests cannot bound a p95: inconclusive, and it says how many can.
  const p95 = slower.find((v) => v.rule.key === 'ttft.p95')!;
  assert.equal(p95.outcome, 'inconclusive');
  assert.equal(p95.needed, 73);
  assert.match(p95.reason!, /48 requests cannot bound a p95: it needs at least 73 a side/);

  const failing = run().map((line, i) => (line.concurrency === cells[0] && i % 12 === 0 ? { ...line, outcome: 'error' } : line));
  const errors = judgeRuns(baseline, failing, defaults).verdicts.filter((v) => v.outcome === 'regression');
  assert.deepEqual(errors.map((v) => [v.rule.key, v.samples.current, Math.round(v.current * 48)]), [['errors.rate', 48, 4]]);
  assert.ok(errors[0]!.interval![0] > 0.01, 'the one-sided lower bound is above the 1-point margin');

  for (let seed = 1; seed <= 20; seed++) {
    const same = judgeRuns(baseline, syntheticRun(seededRandom(seed), 1, 48), defaults).verdicts;
    for (const v of same) assert.notEqual(v.outcome, 'regression', `seed ${seed}: ${v.rule.key}`);
  }
});

test("at the CI scenario's size, re-sized with --plan, +30% TTFT fails its p95 rule too", () => {
  const random = seededRandom(3);
  const slower = judgeRuns(syntheticRun(random), syntheticRun(random, 1.3), defaults).verdicts;
  assert.ok(perCell >= 73, `the CI baseline has ${perCell} requests per cell`);
  assert.deepEqual([...new Set(slower.filter((v) => v.outcome === 'regression').map((v) => v.rule.key))], ['ttft.p50', 'ttft.p95']);
});

test('an inconclusive verdict gives the worsening it can detect and the requests that would resolve it', () => {
  const [ttft] = parseRegressionRules('ttft.p50=5%');
  const random = seededRandom(9);
  // Wide noise (±40%), 20 requests, a 5% slowdown: the interval holds the margin.
  const line = (ttft: number): RequestLine => ({ model: 'm', concurrency: 1, warmup: false, outcome: 'ok', ttft_ms: ttft });
  const noisy = (n: number, center: number) => Array.from({ length: n }, () => line(center * (0.6 + 0.8 * random())));
  const [verdict] = judgeRuns(noisy(20, 100), noisy(20, 105), [ttft!]).verdicts;
  assert.equal(verdict!.outcome, 'inconclusive');
  assert.ok(verdict!.detectable! > 0.1, `detects ${verdict!.detectable}`);
  assert.ok(verdict!.needed! > 20, `needs ${verdict!.needed}`);
});

test('an invalid or short cell is never ok: at best inconclusive, with its reason; a regression stays one', () => {
  const random = seededRandom(4);
  const baseline = syntheticRun(random);
  const id = `Meta-Llama-3.3-70B-Instruct\u0000concurrency\u0000${cells[0]}`;
  const flaws = new Map([[id, 'invalid in this run: client event-loop delay p99 31 ms > 10 ms']]);
  const same = judgeRuns(baseline, syntheticRun(random), defaults, { flaws }).verdicts;
  const flawed = same.filter((v) => v.cell.load.value === cells[0]);
  assert.ok(flawed.length > 0 && flawed.every((v) => v.outcome === 'inconclusive'), flawed.map((v) => v.outcome).join());
  assert.ok(flawed.every((v) => v.reason!.startsWith(flaws.get(id)!)), 'each says why');
  assert.ok(same.filter((v) => v.cell.load.value !== cells[0]).some((v) => v.outcome === 'ok'), 'the other cell is judged as usual');
  const slower = judgeRuns(baseline, syntheticRun(random, 1.3), defaults, { flaws }).verdicts;
  assert.equal(slower.find((v) => v.cell.load.value === cells[0] && v.rule.key === 'ttft.p50')!.outcome, 'regression');
});

test('--repeat: a shift between runs that the requests within each run cannot see widens the interval to inconclusive', () => {
  const [ttft] = parseRegressionRules('ttft.p50=5%');
  const random = seededRandom(11);
  // Three repeats a side; each run's TTFT is offset by up to ±8% (the machine), each request by ±1%.
  const run = (repeat: number, offset: number): RequestLine[] =>
    Array.from({ length: 64 }, () => ({ model: 'm', concurrency: 8, warmup: false, outcome: 'ok', repeat, ttft_ms: 100 * offset * (0.99 + 0.02 * random()) }));
  const baseline = [...run(1, 0.93), ...run(2, 1.0), ...run(3, 1.08)];
  const current = [...run(1, 0.96), ...run(2, 1.06), ...run(3, 1.1)];
  const pooled = judgeRuns(baseline.map(({ repeat: _, ...line }) => line), current.map(({ repeat: _, ...line }) => line), [ttft!]).verdicts[0]!;
  const byRepeat = judgeRuns(baseline, current, [ttft!]).verdicts[0]!;
  assert.deepEqual(byRepeat.repeats, { baseline: 3, current: 3 });
  assert.ok(byRepeat.interval![1] - byRepeat.interval![0] > 3 * (pooled.interval![1] - pooled.interval![0]), 'the repeats, not the requests, set the width');
  assert.equal(byRepeat.outcome, 'inconclusive');
});

test('--plan: from the baseline\'s spread, the requests per cell; a p95 needs more than a p50, 1 point of errors far more', () => {
  const rows = planSizes(recorded, defaults);
  const needed = (key: string) => Math.max(...rows.filter((row) => row.rule.key === key).map((row) => row.needed!));
  assert.ok(needed('ttft.p50') <= 48, `ttft.p50 needs ${needed('ttft.p50')}`);
  // The CI baseline is sized so that its p95 is bounded: the plan rests on its spread, and the scenario holds enough.
  assert.ok(needed('ttft.p95') >= 73 && needed('ttft.p95') <= perCell, `ttft.p95 needs ${needed('ttft.p95')}`);
  assert.ok(rows.filter((row) => row.rule.key === 'ttft.p95').every((row) => row.note === undefined));
  assert.ok(planSizes(recorded.filter((line, i) => i % 2 === 0), defaults).some((row) => row.rule.key === 'ttft.p95' && row.note !== undefined), 'half of it cannot bound a p95');
  // 0% errors: "ok" needs the upper bound under 1 point, and 2% must be flagged 95% of the time.
  assert.equal(needed('errors.rate'), proportionSize(0, 0.01, 0.95));
  assert.ok(needed('errors.rate') > 1000);
});

test('a run whose cell has none of a metric the baseline has (no request succeeded) is inconclusive for it, never skipped', () => {
  const [ttft] = parseRegressionRules('ttft.p50=5%');
  const random = seededRandom(9);
  const failed = syntheticRun(random).map(({ ttft_ms: _, ...line }) => ({ ...line, outcome: 'error' }));
  const verdicts = judgeRuns(syntheticRun(random), failed, [ttft!]).verdicts;
  assert.equal(verdicts.length, cells.length);
  for (const v of verdicts) {
    assert.equal(v.outcome, 'inconclusive');
    assert.match(v.reason!, /no ttft_ms in this run's cell/);
  }
  assert.doesNotThrow(() => renderComparisonLines({ verdicts, missing: [] }, 0.95));
  const lines = renderComparisonLines({ verdicts, missing: [] }, 0.95);
  assert.match(lines, /inconclusive/);
  assert.doesNotMatch(lines, /NaN/, 'no value is shown as —');
});
