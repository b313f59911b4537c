/** Session cells in the report and on the console: each turn's TTFT and prompt tokens. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CellAccumulator, type CellSummary } from '../../src/metrics/cell-summary.ts';
import { renderSummaryTable } from '../../src/report/console.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { renderTurnsSection } from '../../src/report/turns.ts';

const BY_TURN = [
  { turn: 1, requests: 12, ok: 12, ttftP50Ms: 121.087, ttftP95Ms: 122.766, meanCachedPromptTokens: 0, meanPromptTokens: 2004 },
  { turn: 2, requests: 12, ok: 11, ttftP50Ms: 27.327, ttftP95Ms: 31.553, meanCachedPromptTokens: 2048, meanPromptTokens: 2152 },
];

const sessionCell = (): CellSummary => ({ ...new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 4 } }).summary(), byTurn: BY_TURN });

test('the report’s sessions section: a row per turn with its numbers, and the TTFT-by-turn chart; none without sessions', async () => {
  const html = await renderTurnsSection([sessionCell()]);
  const rows = [...html.matchAll(/<tr><td>([^<]*)<\/td>(.*?)<\/tr>/g)].map(([, cell, numbers]) => [cell, ...[...numbers!.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1])]);
  assert.deepEqual(rows, [
    ['m @ c=4', '1', '12', '12', '121.1', '122.8', '2004', '0'],
    ['m @ c=4', '2', '12', '11', '27.33', '31.55', '2152', '2048'],
  ]);
  assert.match(html, /<figure data-chart="ttft-by-turn">\n<svg/);
  const single = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 4 } }).summary();
  assert.equal(await renderTurnsSection([single]), '');
  const page = await renderReportHtml({ title: 't', generatedAt: '2030-01-01T00:00:00.000Z', cells: [single], slo: [] });
  assert.doesNotMatch(page, /data-section="turns"/);
});

test('the console says each session cell’s TTFT p50 and cached/prompt tokens by turn', () => {
  assert.match(renderSummaryTable([sessionCell()]), /^by turn in m @ c=4: TTFT p50 121\.1, 27\.3 ms; cached\/prompt tokens 0\/2004, 2048\/2152$/m);
});
