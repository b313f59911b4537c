import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../../scripts/chromium.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { withTempDir } from '../helpers.ts';
import { sampleReport } from './fixture.ts';

interface FigureLayout {
  chart: string;
  svgs: number;
  width: number;
  height: number;
}

// A string, not a function: tsx would wrap a function's inner helpers in __name(), which the page does not define.
const LAYOUT_SCRIPT = `[...document.querySelectorAll('figure[data-chart]')].map((figure) => {
  const svg = figure.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  return { chart: figure.dataset.chart, svgs: figure.querySelectorAll('svg').length, width: box.width, height: box.height };
})`;

// Chromium is a test dependency like any package: when it is missing this fails (launchChromium says how to install it).
test('the report renders in headless Chromium: no errors, no requests, every chart laid out', async () => {
  const html = await renderReportHtml(sampleReport());
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    const url = pathToFileURL(file).href;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
      page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
      page.on('request', (request) => requests.push(request.url()));
      await page.setViewport({ width: 1280, height: 900 });
      const response = await page.goto(url, { waitUntil: 'load' });
      assert.ok(response?.ok(), `loading ${url}`);

      const figures = (await page.evaluate(LAYOUT_SCRIPT)) as FigureLayout[];
      assert.deepEqual(
        figures.map((figure) => figure.chart),
        ['latency-throughput', 'percentiles-ttft', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk'],
      );
      for (const figure of figures) {
        assert.equal(figure.svgs, 1, figure.chart);
        assert.ok(figure.width > 0 && figure.height > 0, `${figure.chart} laid out at ${figure.width}×${figure.height}`);
      }
      assert.equal(await page.$$eval('table[data-table="cells"] tbody tr', (rows) => rows.length), 6);
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, [url], 'the page fetched something besides itself');
    } finally {
      await browser.close();
    }
  });
});
