import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CellSummary } from '../../src/metrics/cell-summary.ts';
import { renderReportHtml, type ReportInput } from '../../src/report/html.ts';
import { provenanceOf } from '../../src/report/provenance.ts';
import type { SweepOutcome } from '../../src/types.ts';
import { ALPHA, BETA, cellSummary, SLO } from './fixture.ts';

/** The inside of `<figure data-chart="NAME">…</figure>`, or undefined when the page has no such figure. */
function figure(html: string, name: string): string | undefined {
  const start = html.indexOf(`<figure data-chart="${name}">`);
  return start === -1 ? undefined : html.slice(start, html.indexOf('</figure>', start));
}

/** A rate cell: the fixture's cell at `asConcurrency` (its achieved request rate), labelled as the open-loop rate `rate`. */
const rateCell = (model: string, asConcurrency: number, rate: number): CellSummary => ({ ...cellSummary(model, asConcurrency), load: { kind: 'rate', value: rate } });

const SWEEP: SweepOutcome[] = [
  { model: ALPHA, synchronousRps: 9.5, maxConcurrency: 8, throughputRps: 70.25, rates: [30, 50] },
  { model: BETA, maxConcurrency: 8, rates: [], stopped: 'the synchronous probe (c=1) measured no request rate (0 of 20 measured requests succeeded, none inside its window): its sweep stops here' },
];

function sweepReport(sweep?: SweepOutcome[]): ReportInput {
  return {
    title: 'a sweep',
    generatedAt: '2025-01-02T03:04:05.000Z',
    // In the order sweep runs them: the two probes, then the rates.
    cells: [cellSummary(ALPHA, 1), cellSummary(ALPHA, 8), rateCell(ALPHA, 2, 30), rateCell(ALPHA, 4, 50)],
    slo: SLO,
    ...(sweep ? { sweep } : {}),
  };
}

test('a sweep report: a Sweep section per model (its probes, its rates, why one stopped) and TPOT against throughput beside TTFT', async () => {
  const html = await renderReportHtml(sweepReport(SWEEP));
  const start = html.indexOf('<section data-section="sweep">');
  assert.notEqual(start, -1);
  const section = html.slice(start, html.indexOf('</section>', start));
  assert.ok(section.includes('<dt>Synchronous probe (c=1)</dt><dd>9.5 req/s</dd>'), section);
  assert.ok(section.includes('<dt>Throughput probe (c=8)</dt><dd>70.25 req/s</dd>'), section);
  assert.ok(section.includes('<dt>Rates between them</dt><dd>30 req/s, 50 req/s</dd>'), section);
  assert.ok(section.includes('beta &lt;b&gt;&amp;&quot;x&#39;'), 'the model name escaped');
  assert.ok(section.includes('<dt>Rates between them</dt><dd>none</dd>'));
  assert.ok(section.includes('<dd class="failed">the synchronous probe (c=1) measured no request rate'));
  for (const name of ['latency-throughput', 'latency-throughput-tpot']) {
    const chart = figure(html, name);
    assert.ok(chart?.includes('<svg'), name);
    assert.match(chart!, /each model’s line joins its cells in the order of the request rate they achieved/);
  }
  assert.match(figure(html, 'latency-throughput-tpot')!, /<figcaption>TPOT p50\/p95\/p99 against output throughput/);
});

test('a report of concurrency and rate cells orders its load axis by the request rate each load achieved: c=1, the rates, then the throughput probe', async () => {
  const chart = figure(await renderReportHtml(sweepReport(SWEEP)), 'load-ttft')!;
  const at = (label: string) => chart.indexOf(`>${label}</text>`);
  const order = ['c=1', '30 req/s', '50 req/s', 'c=8'].map(at);
  assert.ok(order.every((index) => index !== -1), JSON.stringify(order));
  assert.deepEqual([...order].sort((a, b) => a - b), order);
});

test("a sweep's provenance gives the levels it ran, not the scenario's, and its arrivals", () => {
  const load = provenanceOf(
    { completed: true, scenario: { name: 's', load: { kind: 'concurrency', levels: [1], requests: 8, arrival: 'constant' } } },
    undefined,
    SWEEP,
  ).find(([label]) => label === 'load')![1];
  assert.equal(load, `sweep: probes c=1 and c=8, then ${ALPHA} 30, 50 req/s; ${BETA} no rates; constant arrivals; 8 requests per cell`);
});

test('a report without a sweep has no TPOT-against-throughput chart: run and capacity pages are as before', async () => {
  const html = await renderReportHtml(sweepReport());
  assert.equal(figure(html, 'latency-throughput-tpot'), undefined);
  assert.ok(!html.includes('data-section="sweep"'));
});
