/**
 * The timeline of each cell in the report and through a results folder:
 * one chart per cell (a note for a cell with no request), summary.json's
 * timeline read back as written, and `report DIR` drawing the same page.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { readResultsFolder } from '../../src/cli/results-folder.ts';
import type { CellSummary } from '../../src/metrics/cell-summary.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { captureIo, runScenarioText, withTempDir } from '../helpers.ts';
import { timelineCell as cell } from './fixture.ts';

const figure = (html: string, name: string): string => {
  const start = html.indexOf(`<figure data-chart="${name}">`);
  assert.notEqual(start, -1, `no figure ${name}`);
  return html.slice(start, html.indexOf('</figure>', start));
};

test('the report draws a timeline per cell, warm-up and window shaded; a cell with no request gets a note, no chart', async () => {
  const cells = [cell(3), cell(0, 4)];
  assert.equal(cells[1]!.timeline, undefined);
  const html = await renderReportHtml({ title: 't', generatedAt: 'now', cells, timelineCells: cells, slo: [] });
  const drawn = figure(html, 'timeline-1');
  assert.match(drawn, /<svg/);
  assert.match(drawn, /m @ c=2: output tokens\/s per 0\.1 s bin \(blue, left axis\) and requests in flight/);
  assert.match(drawn, /grey: warm-up; green: the throughput window/);
  // The shading: a grey rect for the warm-up and a green one for the window, under the bars.
  assert.match(drawn, /fill="#999999"/);
  assert.match(drawn, /fill="#009E73"/);
  const empty = figure(html, 'timeline-2');
  assert.doesNotMatch(empty, /<svg/);
  assert.match(empty, /m @ c=4/);
  assert.match(empty, /No request of this cell was sent: nothing to draw\./);
});

test('no timeline section when no cell has a timeline (a folder written before them)', async () => {
  const { timeline: _timeline, ...old } = cell(3);
  const html = await renderReportHtml({ title: 't', generatedAt: 'now', cells: [old], timelineCells: [old], slo: [] });
  assert.doesNotMatch(html, /data-section="timelines"/);
});

test('a page not given timeline cells (a compare page) draws no timeline', async () => {
  const cells = [cell(3)];
  const html = await renderReportHtml({ title: 't', generatedAt: 'now', cells, slo: [] });
  assert.doesNotMatch(html, /data-section="timelines"/);
});

test('summary.json’s timelines read back as written, and `report DIR` draws the page the run drew; a folder without them still reads', () =>
  withTempDir(async (dir) => {
    const scenario = `name: timeline
target:
  baseURL: builtin
  simulator: {seed: 3, defaults: {ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: [1, 3], outputTokens: [8, 16], capacity: 8}}
models: [{name: model-a, tokenizer: llama3}]
load: {concurrency: [1, 3], requests: 9, warmup: 3}
prompts: ["hi"]
`;
    const run = await runScenarioText(dir, 'run', scenario);
    assert.equal(run.code, 0, run.io.err());
    const summary = JSON.parse(await readFile(path.join(run.out, 'summary.json'), 'utf8'));
    const lines = (await readFile(path.join(run.out, 'requests.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    for (const [c, written] of summary.cells.entries()) {
      const { timeline } = written;
      const mine = lines.filter((line) => line.concurrency === written.load.value);
      // Every request (warm-up too) is sent, ends and delivers its tokens in some bin.
      const sum = (bins: number[]) => bins.reduce((a, b) => a + b, 0);
      assert.equal(sum(timeline.started), mine.length, `cell ${c}`);
      assert.equal(sum(timeline.ended), mine.length, `cell ${c}`);
      assert.equal(sum(timeline.outputTokens), sum(mine.map((line) => line.output_tokens)), `cell ${c}`);
      assert.equal(timeline.startUnixMs, Math.min(...mine.map((line) => line.sent_at_unix_ms)));
      assert.equal(timeline.measuredFromMs, Math.round((Math.min(...mine.filter((line) => !line.warmup).map((line) => line.sent_at_unix_ms)) - timeline.startUnixMs) * 1000) / 1000);
      // Closed loop: the window opens at the first measured send, to the µs (the window went through the run’s clock; 1 µs and float noise allowed).
      assert.ok(Math.abs(timeline.window.startMs - timeline.measuredFromMs) <= 0.0015, JSON.stringify(timeline));
    }
    const folder = await readResultsFolder(run.out);
    assert.deepEqual(
      folder.cells.map((cell) => cell.timeline),
      summary.cells.map((cell: CellSummary) => cell.timeline),
    );
    const written = await readFile(path.join(run.out, 'report.html'), 'utf8');
    assert.match(figure(written, 'timeline-2'), /<svg/);
    const io = captureIo();
    assert.equal(await main(['report', run.out], io), 0, io.err());
    assert.equal(await readFile(path.join(run.out, 'report.html'), 'utf8'), written);

    for (const cell of summary.cells) delete cell.timeline;
    await writeFile(path.join(run.out, 'summary.json'), JSON.stringify(summary));
    assert.equal(await main(['report', run.out], captureIo()), 0);
    assert.doesNotMatch(await readFile(path.join(run.out, 'report.html'), 'utf8'), /data-section="timelines"/);
  }));
