import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CellAccumulator } from '../../src/metrics/cell-summary.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { ALPHA, BETA, cellSummary, INVALID_LEVEL, LEVELS, REPEATS, REQUESTS_PER_CELL, sampleProvenanceSource, sampleReport, SECRETS, SLO, ttftMs, wideRepeatReport } from './fixture.ts';
import { headlines } from '../../src/report/headline.ts';
import { provenanceOf, targetHost } from '../../src/report/provenance.ts';

const CHARTS = ['latency-throughput', 'load-ttft', 'load-tpot', 'load-throughput', 'percentiles-ttft', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk'];

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
  const start = html.indexOf('<table data-table="cells">');
  const table = html.slice(start, html.indexOf('</table>', start));
  const headers = [...table.matchAll(/<th[^>]*>(.*?)<\/th>/g)].map(([, h]) => text(h!));
  const body = table.slice(table.indexOf('<tbody>'));
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map(([, row]) => {
    const cells = [...row!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map(([, c]) => text(c!));
    return Object.fromEntries(headers.map((header, i) => [header, cells[i]!]));
  });
}

test('the target host is the origin alone: no user, password, path or query', () => {
  const cases: [string | undefined, string][] = [
    ['https://user:key@api.example.com/v1?key=k', 'https://api.example.com'],
    ['http://127.0.0.1:8000/v1', 'http://127.0.0.1:8000'],
    ['not a url', 'unknown'],
    [undefined, 'unknown'],
  ];
  for (const [url, host] of cases) assert.equal(targetHost(url), host, String(url));
});

test('headlines: no SLO says so; a model that never met it has no max load', () => {
  const cells = [cellSummary(ALPHA, 1), cellSummary(ALPHA, 16)];
  const [none] = headlines(cells, []);
  assert.equal(none!.hasSlo, false);
  assert.equal(none!.maxLoadWithinSlo, undefined);
  assert.equal(none!.bestGoodput, undefined);
  assert.deepEqual(none!.bestThroughput?.load, { kind: 'concurrency', value: 16 });
  const [failing] = headlines([cellSummary(ALPHA, 16)], SLO);
  assert.equal(failing!.maxLoadWithinSlo, undefined);
  assert.deepEqual(failing!.bestGoodput?.load, { kind: 'concurrency', value: 16 });
});

test('with --repeat, the load charts and the latency chart show the spread over the repeats', async () => {
  const page = await renderReportHtml(wideRepeatReport());
  for (const name of ['load-ttft', 'load-tpot', 'load-throughput']) {
    assert.match(figure(page, name), /class="mark-area role-mark/, name);
    assert.match(figure(page, name), new RegExp(`over ${REPEATS} repeats`), name);
  }
  assert.match(figure(page, 'latency-throughput'), new RegExp(`bars: .* over ${REPEATS} repeats`));
  assert.match(figure(page, 'load-tpot'), />SLO tpot_p95_ms ≤ 4</);
  assert.match(page, /each cell 3 times \(--repeat 3\)/);
});

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

  test('the TTFT SLO bound is drawn, labelled, on every chart of TTFT and on no other', () => {
    for (const name of ['latency-throughput', 'load-ttft', 'percentiles-ttft']) {
      assert.match(figure(html, name), />SLO ttft_p95_ms ≤ 300</, name);
      assert.match(figure(html, name), /<line[^>]*stroke="#b00020"/, name);
      assert.match(figure(html, name), /dashed red lines: the SLO bounds on TTFT/, name);
    }
    for (const name of ['load-tpot', 'load-throughput', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk']) {
      assert.doesNotMatch(figure(html, name), /SLO |#b00020/, name);
    }
    assert.match(html, /<code>ttft_p95_ms<\/code> ≤ 300/);
  });

  test('every chart is drawn at the page width', () => {
    for (const name of CHARTS) {
      const width = Number(/<svg[^>]*width="([\d.]+)"/.exec(figure(html, name))![1]);
      assert.ok(width >= 1100 && width <= 1168, `${name}: ${width} px`);
    }
  });

  test('the headline row of each model: the highest load within the SLO, the best goodput, tokens per chunk', () => {
    const section = html.slice(html.indexOf('<section data-section="headline">'), html.indexOf('</section>', html.indexOf('data-section="headline"')));
    const rows = [...section.matchAll(/<tr><th scope="row">(.*?)<\/th>(.*?)<\/tr>/g)].map(([, model, cells]) => [text(model!), ...[...cells!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map(([, c]) => text(c!))]);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((row) => [row[0], row[1], row[4]]), [
      [ALPHA, 'c=4', '2'],
      [BETA, 'c=4', '4'],
    ]);
    assert.match(rows[0]![2]!, /^[\d.]+ req\/s at c=\d+$/);
  });

  test('no repeat: no band on any chart', () => {
    for (const name of CHARTS) assert.doesNotMatch(figure(html, name), /mark-area/, name);
  });

  test('the provenance block says where and how the run ran, and no secret', () => {
    const section = text(html.slice(html.indexOf('<section data-section="provenance">'), html.indexOf('</section>', html.indexOf('data-section="provenance"'))));
    for (const expected of [
      'target hosthttps://api.example.com:8443',
      'APIchat',
      'scenariosweep <demo> (scenarios/sweep.yaml)',
      'loadconcurrency 1, 4, 16; 20 requests per cell; 2 warm-up',
      'request parametersmax_tokens: 64, temperature: 0, api_key: [redacted]',
      'started2025-01-02T03:00:00.000Z',
      'duration4 min 5.0 s',
      'statuscompleted',
      'tokenmeter9.8.7',
      'Nodev20.19.0',
    ]) {
      assert.ok(section.includes(expected), `${expected} in ${section}`);
    }
    for (const secret of SECRETS) assert.ok(!html.includes(secret), secret);
  });

  test('an interrupted run says so in its provenance', async () => {
    const page = await renderReportHtml({ ...sampleReport(), provenance: provenanceOf(sampleProvenanceSource(false)) });
    assert.match(page, /<dt>status<\/dt><dd><span class="interrupted">interrupted/);
  });

  test('model names and titles are escaped everywhere', () => {
    assert.ok(!html.includes('<b>'), 'raw <b> in the page');
    assert.ok(!html.includes('<demo>'), 'raw <demo> in the page');
    assert.ok(html.includes('beta &lt;b&gt;&amp;&quot;x&#39;'), 'escaped model name in the table');
    assert.ok(html.includes('<title>sweep &lt;demo&gt;'));
  });

  test('the page is self-contained: no script, no external resource, no URL but the SVG namespaces', () => {
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|src=/i);
    // The provenance block names the target's origin as text; no other URL but the SVG namespaces.
    const urls = new Set(html.match(/https?:\/\/[^\s"'<>)]*/g));
    assert.deepEqual([...urls].sort(), ['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg', 'https://api.example.com:8443']);
    assert.equal(html.match(/https:\/\/api\.example\.com:8443/g)!.length, 1);
    assert.match(html, /<dd>https:\/\/api\.example\.com:8443<\/dd>/);
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
