import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { compareSamples, parseRegressionRules, percentileOf, type RequestLine } from '../../src/check/baseline.ts';
import { judgeRuns } from '../../src/check/verdict.ts';
import { renderJunit } from '../../src/check/junit.ts';
import { comparisonCases, renderComparisonLines, renderComparisonMarkdown } from '../../src/check/render.ts';
import { seededRandom } from '../../src/util/random.ts';
import { validateXML } from 'xmllint-wasm';
import { REPO_ROOT } from '../helpers.ts';

/** n samples of a latency around `center` ms with ±20% uniform noise. */
function latencies(n: number, center: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => center * (0.8 + 0.4 * random()));
}

const [ttftP95] = parseRegressionRules('ttft.p95=10%');
const [decodeP50] = parseRegressionRules('decode_tokens_per_s.p50=10%');

test('percentiles by nearest rank', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentileOf(sorted, 50), 50);
  assert.equal(percentileOf(sorted, 95), 95);
  assert.equal(percentileOf(sorted, 99.9), 100);
  assert.equal(percentileOf([7], 95), 7);
});

test('the same distribution is never a regression, over 50 seeds', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const result = compareSamples(latencies(60, 100, seed), latencies(60, 100, seed + 1000), ttftP95!, { seed });
    assert.equal(result.regression, false, `seed ${seed}: ${JSON.stringify(result)}`);
    assert.ok(result.interval![0] < 0.1, 'the interval reaches below the margin');
  }
});

test('a 30% slower TTFT is a regression, with an interval beyond the margin', () => {
  const result = compareSamples(latencies(60, 100, 1), latencies(60, 130, 2), ttftP95!);
  assert.equal(result.regression, true);
  assert.ok(result.worsening > 0.2 && result.worsening < 0.4, `worsening ${result.worsening}`);
  const [low, high] = result.interval!;
  assert.ok(low > 0.1 && low <= result.worsening && result.worsening <= high);
});

test('a 5% slowdown is within a 10% margin, and a 30% speed-up is an improvement, not a regression', () => {
  assert.equal(compareSamples(latencies(200, 100, 3), latencies(200, 105, 4), ttftP95!).regression, false);
  const faster = compareSamples(latencies(60, 100, 5), latencies(60, 70, 6), ttftP95!);
  assert.equal(faster.regression, false);
  assert.equal(faster.improvement, true);
});

test('for throughputs a drop is the regression', () => {
  const slower = compareSamples(latencies(60, 100, 7), latencies(60, 70, 8), decodeP50!);
  assert.equal(slower.regression, true);
  assert.ok(slower.worsening > 0.2);
  assert.equal(compareSamples(latencies(60, 100, 9), latencies(60, 130, 10), decodeP50!).regression, false);
});

test('too few samples beyond the percentile: no interval and no verdict, never a regression', () => {
  const result = compareSamples([100, 140], [150, 120], ttftP95!);
  assert.equal(result.interval, undefined);
  assert.equal(result.regression, false);
  assert.equal(compareSamples([100], [112], ttftP95!).regression, false);
});

test('unequal sample sizes do not pass for a change: the same distribution, 30 against 2000 samples, at p95 and p99', () => {
  const [p99] = parseRegressionRules('ttft.p99=10%');
  // Lognormal latencies (σ = 0.5): a long tail, where a small sample's high percentile is biased low.
  const lognormal = (n: number, seed: number) => {
    const random = seededRandom(seed);
    return Array.from({ length: n }, () => 100 * Math.exp(0.5 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())));
  };
  let flagged = 0;
  for (let seed = 1; seed <= 40; seed++) {
    for (const rule of [ttftP95!, p99!]) {
      if (compareSamples(lognormal(30, seed), lognormal(2000, seed + 500), rule, { resamples: 500 }).regression) flagged++;
      if (compareSamples(lognormal(2000, seed + 900), lognormal(30, seed), rule, { resamples: 500 }).regression) flagged++;
    }
  }
  assert.ok(flagged <= 4, `${flagged} of 160 same-distribution comparisons flagged (a 95% interval allows ~2.5% one-sided)`);
});

test('errors.rate: a cell whose requests now fail is a regression; the same error rate is not', () => {
  const rules = parseRegressionRules('errors.rate=1%');
  const lines = (n: number, failed: number): RequestLine[] =>
    Array.from({ length: n }, (_, i) => ({ model: 'm', concurrency: 1, warmup: false, outcome: i < failed ? 'error' : 'ok' }));
  const outcome = (base: [number, number], now: [number, number]) => judgeRuns(lines(...base), lines(...now), rules).verdicts[0]!;
  assert.equal(outcome([48, 0], [48, 48]).outcome, 'regression');
  assert.notEqual(outcome([48, 0], [48, 1]).outcome, 'regression');
  assert.notEqual(outcome([48, 2], [48, 2]).outcome, 'regression');
  const worse = outcome([400, 4], [400, 60]);
  assert.equal(worse.outcome, 'regression');
  assert.ok(Math.abs(worse.worsening - 0.14) < 1e-9);
  // The same rate, with enough requests to bound it within a point: ok.
  assert.equal(outcome([2000, 0], [2000, 0]).outcome, 'ok');
});

test('--max-regression: each bad item is named', () => {
  assert.deepEqual(
    parseRegressionRules('ttft.p95=10%, tpot.p99.9=5.5%, e2e.p999=10%').map((r) => [r.key, r.field, r.percentile, r.margin]),
    [
      ['ttft.p95', 'ttft_ms', 95, 0.1],
      ['tpot.p99.9', 'tpot_ms', 99.9, 0.055],
      ['e2e.p999', 'e2e_ms', 99.9, 0.1],
    ],
  );
  assert.throws(() => parseRegressionRules('ttft.p95=10'), /"ttft\.p95=10" must be METRIC\.pNN=N%/);
  assert.throws(() => parseRegressionRules('speed.p50=10%'), /"speed\.p50=10%" must be METRIC\.pNN=N% \(METRIC one of ttft/);
  assert.throws(() => parseRegressionRules('ttft.p100=10%'), /"ttft\.p100=10%" must be/);
  assert.deepEqual(parseRegressionRules('slo.share=5%').map((r) => [r.key, r.margin, r.sloShare]), [['slo.share', 0.05, true]]);
});

test('runs are compared cell by cell; warm-up, failed requests and unshared cells are left out', () => {
  const line = (model: string, concurrency: number, ttft: number, extra: Partial<RequestLine> = {}): RequestLine => ({
    model,
    concurrency,
    warmup: false,
    outcome: 'ok',
    ttft_ms: ttft,
    ...extra,
  });
  const baseline = [
    ...latencies(40, 100, 1).map((t) => line('a', 4, t)),
    ...latencies(40, 100, 2).map((t) => line('a', 8, t)),
    line('a', 4, 5000, { warmup: true }),
  ];
  const current = [
    ...latencies(40, 100, 3).map((t) => line('a', 4, t)),
    line('a', 4, 9000, { outcome: 'error' }),
    ...latencies(40, 100, 4).map((t) => line('a', 16, t)),
  ];
  const [ttftP50] = parseRegressionRules('ttft.p50=10%');
  const { verdicts, missing, onlyInCurrent } = judgeRuns(baseline, current, [ttftP50!, ...parseRegressionRules('errors.rate=1%')]);
  assert.equal(verdicts.length, 2);
  assert.deepEqual(verdicts[0]!.cell, { model: 'a', load: { kind: 'concurrency', value: 4 } });
  assert.deepEqual(verdicts[0]!.samples, { baseline: 40, current: 41 });
  assert.notEqual(verdicts[0]!.outcome, 'regression');
  assert.equal(verdicts[0]!.current, percentileOf(Float64Array.from(latencies(40, 100, 3)).sort(), 50), 'the failed request has no TTFT sample');
  assert.equal(verdicts[1]!.rule.key, 'errors.rate');
  assert.deepEqual(verdicts[1]!.samples, { baseline: 40, current: 41 }, 'the failed request counts in the error rate');
  assert.deepEqual(missing, [{ model: 'a', load: { kind: 'concurrency', value: 8 } }]);
  assert.deepEqual(onlyInCurrent, [{ model: 'a', load: { kind: 'concurrency', value: 16 } }]);
});

test('JUnit XML validates against the common (Ant/Jenkins) JUnit schema, with the right counts', async () => {
  const [ttftP50] = parseRegressionRules('ttft.p50=10%');
  const model = 'm <&> "x"';
  const lines = (values: number[]): RequestLine[] => values.map((ttft) => ({ model, concurrency: 8, warmup: false, outcome: 'ok', ttft_ms: ttft }));
  const slow = judgeRuns(lines(latencies(60, 100, 1)), lines(latencies(60, 130, 2)), [ttftP50!]).verdicts;
  const ok = judgeRuns(lines(latencies(400, 100, 3)), lines(latencies(400, 100, 4)), [ttftP50!]).verdicts;
  assert.deepEqual([slow[0]!.outcome, ok[0]!.outcome], ['regression', 'ok']);
  const xml = renderJunit([{ name: 'baseline: b', cases: comparisonCases({ verdicts: [...slow, ...ok], missing: [] }) }]);
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="tokenmeter" tests="2" failures="1" errors="0">/);
  assert.match(xml, /<testsuite name="baseline: b" tests="2" failures="1" errors="0" skipped="0">/);
  const cases = [...xml.matchAll(/<testcase name="([^"]*)" classname="([^"]*)" time="0"(\/?)>/g)];
  assert.equal(cases.length, 2);
  assert.equal(cases[0]![2], 'm &lt;&amp;&gt; &quot;x&quot; @ c=8', 'attributes are escaped');
  assert.match(xml, /<failure message="ttft\.p50 [\d.]+ → [\d.]+ \(\+\d+\.\d%, bounds \[\+\d+\.\d%, \+\d+\.\d%\]\)" type="failure">/);
  // Valid against the JUnit schema CI servers read (test/fixtures/junit.xsd), by libxml2's validator.
  const schema = await readFile(path.join(REPO_ROOT, 'test', 'fixtures', 'junit.xsd'), 'utf8');
  const verdict = await validateXML({ xml: [{ fileName: 'check.junit.xml', contents: xml }], schema: [schema] });
  assert.deepEqual(verdict.errors, []);
  assert.equal(verdict.valid, true);
  // …and the schema is not a rubber stamp: a testcase without its classname is refused.
  const broken = await validateXML({ xml: [{ fileName: 'bad.xml', contents: xml.replace(/ classname="[^"]*"/, '') }], schema: [schema] });
  assert.equal(broken.valid, false);
});

test('--max-regression accepts the per-request latencies and throughputs of requests.jsonl, each with its field and direction', () => {
  const accepted = [
    ['ttft', 'ttft_ms', false],
    ['ttfo', 'ttfo_ms', false],
    ['tpot', 'tpot_ms', false],
    ['e2e', 'e2e_ms', false],
    ['ttfb', 'ttfb_ms', false],
    ['scheduled_ttft', 'scheduled_ttft_ms', false],
    ['output_tokens_per_s', 'output_tokens_per_s', true],
    ['decode_tokens_per_s', 'decode_tokens_per_s', true],
  ] as const;
  for (const [metric, field, higherIsBetter] of accepted) {
    const [rule] = parseRegressionRules(`${metric}.p90=10%`);
    assert.deepEqual([rule!.key, rule!.field, rule!.percentile, rule!.higherIsBetter], [`${metric}.p90`, field, 90, higherIsBetter]);
  }
  for (const metric of ['itl', 'chunk_gap', 'tokens_per_chunk', 'input_tokens', 'output_tokens', 'reasoning_tokens', 'connect', 'schedule_lag', 'scheduled_e2e']) {
    assert.throws(
      () => parseRegressionRules(`${metric}.p90=10%`),
      (error: Error) =>
        error.message ===
        `--max-regression: "${metric}.p90=10%" must be METRIC.pNN=N% (METRIC one of ttft, ttfo, tpot, e2e, ttfb, scheduled_ttft, ` +
          'output_tokens_per_s, decode_tokens_per_s; e.g. ttft.p95=10%), errors.rate=N% or slo.share=N%',
    );
  }
});

test("a ramp and a trace keep their identity: a 2→20 ramp is not the steady 2 req/s cell, and each is labelled as what it is", () => {
  const line = (rate: number, ttft: number, extra: Partial<RequestLine> = {}): RequestLine => ({ model: 'm', rate, warmup: false, outcome: 'ok', ttft_ms: ttft, ...extra });
  const ramp = { ramp_to: 20, ramp_over_ms: 60_000 };
  const traceRate = 15.181518151815183;
  const baseline = [...latencies(40, 100, 1).map((t) => line(2, t)), ...latencies(40, 100, 2).map((t) => line(traceRate, t, { trace_speedup: 2 }))];
  const current = [...latencies(40, 100, 3).map((t) => line(2, t, ramp)), ...latencies(40, 100, 4).map((t) => line(traceRate, t, { trace_speedup: 2 }))];
  const verdict = judgeRuns(baseline, current, parseRegressionRules('ttft.p50=10%'));
  const traceCell = { model: 'm', load: { kind: 'rate', value: traceRate, trace: { speedup: 2 } } };
  assert.deepEqual(verdict.verdicts.map((v) => v.cell), [traceCell], 'only the trace cell is in both runs');
  assert.deepEqual(verdict.missing, [{ model: 'm', load: { kind: 'rate', value: 2 } }]);
  assert.deepEqual(verdict.onlyInCurrent, [{ model: 'm', load: { kind: 'rate', value: 2, ramp: { toRate: 20, overMs: 60_000 } } }]);
  const text = renderComparisonLines({ verdicts: verdict.verdicts, missing: verdict.missing }, 0.95);
  assert.match(text, /m @ trace ×2 \(15\.18 req\/s\)/);
  assert.doesNotMatch(text, /15\.181518/);
  const markdown = renderComparisonMarkdown('t', { verdicts: verdict.verdicts, missing: verdict.missing });
  assert.match(markdown, /m @ trace ×2 \(15\.18 req\/s\)/);
  assert.match(markdown, /m @ 2 req\/s/);
  const junit = renderJunit([{ name: 'baseline', cases: comparisonCases({ verdicts: verdict.verdicts, missing: verdict.missing }, false) }]);
  assert.match(junit, /m @ trace ×2 \(15\.18 req\/s\)/);
});
