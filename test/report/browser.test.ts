import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { renderReportHtml } from '../../src/report/html.ts';
import { assertChartsLaidOut, inspectInChromium } from '../browser.ts';
import { withTempDir } from '../helpers.ts';
import { sampleReport } from './fixture.ts';

// Chromium is a test dependency like any package (a system one, else @sparticuz/chromium from npm): when there is none this fails, saying what to install.
test('the report renders in headless Chromium: no errors, no requests, every chart laid out', async (t) => {
  const html = await renderReportHtml(sampleReport());
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    await inspectInChromium(file, async (page) => {
      await assertChartsLaidOut(page, ['latency-throughput', 'percentiles-ttft', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk']);
      assert.equal(await page.$$eval('table[data-table="cells"] tbody tr', (rows) => rows.length), 6);
    }, (line) => t.diagnostic(line));
  });
});
