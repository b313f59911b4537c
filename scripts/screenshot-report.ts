/**
 * Saves a full-page PNG of a report.html, for the README:
 *   node --import tsx scripts/screenshot-report.ts results/RUN/report.html docs/report.png
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.ts';

const [reportPath, pngPath] = process.argv.slice(2);
if (!reportPath || !pngPath) {
  console.error('usage: node --import tsx scripts/screenshot-report.ts REPORT_HTML OUTPUT_PNG');
  process.exit(2);
}

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(path.resolve(reportPath)).href, { waitUntil: 'load' });
  await page.screenshot({ path: path.resolve(pngPath) as `${string}.png`, fullPage: true });
} finally {
  await browser.close();
}
console.log(`wrote ${pngPath}`);
