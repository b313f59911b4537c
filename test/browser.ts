/** Loading a page from disk in headless Chromium, collecting what went wrong on the way. */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { Page } from 'puppeteer-core';
import { describeChromium, launchChromium } from '../scripts/chromium.ts';

export interface FigureLayout {
  chart: string;
  svgs: number;
  width: number;
  height: number;
}

// A string, not a function: tsx would wrap a function's inner helpers in __name(), which the page does not define.
export const LAYOUT_SCRIPT = `[...document.querySelectorAll('figure[data-chart]')].map((figure) => {
  const svg = figure.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  return { chart: figure.dataset.chart, svgs: figure.querySelectorAll('svg').length, width: box.width, height: box.height };
})`;

/**
 * Opens `file` and runs `inspect` on the loaded page; asserts that the page
 * logged no console error, threw nothing, and fetched nothing but itself.
 * Says which browser ran through `log` (a test's `t.diagnostic`).
 */
export async function inspectInChromium<T>(file: string, inspect: (page: Page) => Promise<T>, log?: (line: string) => void): Promise<T> {
  const url = pathToFileURL(file).href;
  const browser = await launchChromium();
  try {
    log?.(`browser: ${await describeChromium(browser)}`);
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
    const result = await inspect(page);
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [url], 'the page fetched something besides itself');
    return result;
  } finally {
    await browser.close();
  }
}

/** Every chart figure has one SVG with a real size in the layout. */
export async function assertChartsLaidOut(page: Page, expected: string[]): Promise<void> {
  const figures = (await page.evaluate(LAYOUT_SCRIPT)) as FigureLayout[];
  assert.deepEqual(
    figures.map((figure) => figure.chart),
    expected,
  );
  for (const figure of figures) {
    assert.equal(figure.svgs, 1, figure.chart);
    assert.ok(figure.width > 0 && figure.height > 0, `${figure.chart} laid out at ${figure.width}×${figure.height}`);
  }
}
