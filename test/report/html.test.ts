import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CellAccumulator } from '../../src/metrics/cell-summary.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { ALPHA, BETA, cellSummary, INVALID_LEVEL, LEVELS, REQUESTS_PER_CELL, sampleReport, SLO, ttftMs } from './fixture.ts';

const CHARTS = ['latency-throughput', 'percentiles-ttft', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk'];

/** The inside of `<figure data-chart="NAME">…</figure>`. */
function figure(html: string, name: string): string {
  const start = html.indexOf(`<figure data-chart="${name}">`);
  assert.notEqual(start, -1, `no figure ${name}`);
  return html.slice(start, html.indexOf('</figure>', start));
}

const text = (fragment: string): string =>
  fragment
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** The cells table as header → text rows. */
function cellsTable(html: string): Record<string, string>[] {
  const table = html.slice(html.indexOf('<table data-table="cells">'), html.indexOf('</table>'));
  const headers = [...table.matchAll(/<th[^>]*>(.*?)<\/th>/g)].map(([, h]) => text(h!));
  const body = table.slice(table.indexOf('<tbody>'));
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map(([, row]) => {
    const cells = [...row!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map(([, c]) => text(c!));
    return Object.fromEntries(headers.map((header, i) => [header, cells[i]!]));
  });
}

describe('HTML report', async () => {
  const html = await renderReportHtml(sampleReport());

  test('every chart is an inline SVG in its own figure with a caption', () => {
    for (const name of CHARTS) {
      const content = figure(html, name);
      assert.match(content, /<svg[^>]*width="\d/, name);
      assert.match(content, /<figcaption>[^<]+/, name);
    }
  });

  test('the table has one row per cell, with its model, load and TTFT p95', () => {
    const rows = cellsTable(html);
    assert.equal(rows.length, 6);
    assert.deepEqual(
      rows.map((row) => `${row.model} ${row.load}`),
      [ALPHA, BETA].flatMap((model) => LEVELS.map((level) => `${model} c=${level}`)),
    );
    // Nearest rank: the 19th of 20 TTFTs; HdrHistogram keeps 3 significant digits, the table shows 4.
    const expected = ttftMs(ALPHA, 4, Math.ceil(0.95 * REQUESTS_PER_CELL) - 1);
    const shown = Number(rows[1]!['TTFT p95 (ms)']);
    assert.ok(Math.abs(shown - expected) / expected < 0.002, `TTFT p95 ${shown}, expected ≈ ${expected}`);
    assert.equal(rows[1]!.requests, String(REQUESTS_PER_CELL));
    assert.equal(rows[0]!['tokens/chunk mean'], '2');
  });

  test('each row says whether the cell met the SLO, and why not', () => {
    const rows = cellsTable(html);
    assert.equal(rows[1]!.SLO, 'met');
    assert.match(rows[2]!.SLO!, /^failed: ttft_p95_ms \d+(\.\d+)? > 300$/);
  });

  test('an invalid cell is marked INVALID with its reason, in the table and the chart', () => {
    const rows = cellsTable(html);
    const invalid = rows.filter((row) => row.validity!.startsWith('INVALID: '));
    assert.deepEqual(invalid.map((row) => `${row.model} ${row.load}`), [`${BETA} c=${INVALID_LEVEL}`]);
    assert.match(invalid[0]!.validity!, /p99 schedule lag 50\.0 ms > 20 ms/);
    assert.match(figure(html, 'latency-throughput'), /<path[^>]*stroke="#999999"/);
  });

  test('the knee is annotated in the latency chart and listed in the capacity section', () => {
    const chart = figure(html, 'latency-throughput');
    assert.match(chart, />c=4 knee</);
    assert.match(chart, /ringed: the knee \(alpha-70b at c=4\)/);
    const capacity = html.slice(html.indexOf('<section data-section="capacity">'));
    assert.match(capacity, /<strong>c=4<\/strong>/);
    assert.match(capacity, /c=16: ttft_p95_ms 390 &gt; 300/);
  });

  test('the TTFT SLO bound is drawn on the latency chart', () => {
    assert.match(figure(html, 'latency-throughput'), />ttft_p95_ms</);
    assert.match(html, /<code>ttft_p95_ms<\/code> ≤ 300/);
  });

  test('model names and titles are escaped everywhere', () => {
    assert.ok(!html.includes('<b>'), 'raw <b> in the page');
    assert.ok(!html.includes('<demo>'), 'raw <demo> in the page');
    assert.ok(html.includes('beta &lt;b&gt;&amp;&quot;x&#39;'), 'escaped model name in the table');
    assert.ok(html.includes('<title>sweep &lt;demo&gt;'));
  });

  test('the page is self-contained: no script, no external resource, no URL but the SVG namespaces', () => {
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|src=/i);
    const urls = new Set(html.match(/https?:\/\/[^\s"'<>)]*/g));
    assert.deepEqual([...urls].sort(), ['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg']);
  });

  test('the same input renders the same page, byte for byte', async () => {
    assert.equal(await renderReportHtml(sampleReport()), html);
  });

  test('element ids are unique across the charts of one page', () => {
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map(([, id]) => id);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('a report of a single cell still draws every chart', async () => {
    const single = await renderReportHtml({ title: 'one', generatedAt: 'now', cells: [cellSummary(ALPHA, 8)], slo: [] });
    for (const name of CHARTS) assert.match(figure(single, name), /<svg/, name);
    assert.equal(cellsTable(single).length, 1);
  });

  test('a cell without samples gets a note instead of an empty chart', async () => {
    const empty = new CellAccumulator({ model: ALPHA, load: { kind: 'rate', value: 2 } }, { slo: SLO, maxScheduleLagMs: Infinity, maxClientLagMs: Infinity }).summary();
    const page = await renderReportHtml({ title: 'empty', generatedAt: 'now', cells: [empty], slo: SLO });
    for (const name of CHARTS) {
      assert.doesNotMatch(figure(page, name), /<svg/, name);
      assert.match(figure(page, name), /class="note">No /, name);
    }
    assert.equal(cellsTable(page)[0]!.load, '2 req/s');
    assert.equal(cellsTable(page)[0]!['TTFT p50 (ms)'], '—');
  });
});
