import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { renderReportHtml } from '../../src/report/html.ts';
import { assertChartsLaidOut, inspectInChromium } from '../browser.ts';
import { withTempDir } from '../helpers.ts';
import { sampleReport, SECRETS, timelineCell, WIDE_LEVELS, WIDE_MODELS, wideRepeatReport } from './fixture.ts';

const CHARTS = ['latency-throughput', 'load-ttft', 'load-tpot', 'load-throughput', 'percentiles-ttft', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk'];

// Chromium is a test dependency like any package (a system one, else @sparticuz/chromium from npm): when there is none this fails, saying what to install.
test('the report renders in headless Chromium: no errors, no requests, every chart laid out', async (t) => {
  const html = await renderReportHtml(sampleReport());
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    await inspectInChromium(file, async (page) => {
      await assertChartsLaidOut(page, CHARTS);
      assert.equal(await page.$$eval('table[data-table="cells"] tbody tr', (rows) => rows.length), 6);
      assert.equal(await page.$$eval('table[data-table="headline"] tbody tr', (rows) => rows.length), 2);
    }, (line) => t.diagnostic(line));
  });
});

test('each cell’s timeline lays out at the page’s width in Chromium, its two series and its shading drawn', async () => {
  const html = await renderReportHtml({ title: 't', generatedAt: 'now', cells: [timelineCell(3), timelineCell(40, 4)], timelineCells: [timelineCell(3), timelineCell(40, 4)], slo: [] });
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    const facts = await inspectInChromium(file, async (page) => {
      await assertChartsLaidOut(page, [...CHARTS, 'timeline-1', 'timeline-2']);
      return (await page.evaluate(`['timeline-1', 'timeline-2'].map((name) => {
        const figure = document.querySelector('figure[data-chart="' + name + '"]');
        return {
          width: figure.querySelector('svg').getBoundingClientRect().width,
          areas: figure.querySelectorAll('g.mark-area.role-mark path').length,
          lines: figure.querySelectorAll('g.mark-line.role-mark path').length,
          shades: figure.querySelectorAll('g.mark-rect.role-mark path').length,
        };
      })`)) as { width: number; areas: number; lines: number; shades: number }[];
    });
    // Per chart: one tokens/s area, one in-flight line, the warm-up and the window shaded.
    for (const chart of facts) assert.deepEqual({ ...chart, width: chart.width >= 1000 }, { width: true, areas: 1, lines: 1, shades: 2 });
  });
});

// Page scripts are strings: tsx would wrap a function's inner helpers in __name(), which the page does not define.
const PAGE_FACTS = `(() => {
  const figure = (name) => document.querySelector('figure[data-chart="' + name + '"]');
  const widths = [...document.querySelectorAll('figure[data-chart] svg')].map((svg) => svg.getBoundingClientRect().width);
  const loadStrokes = [...figure('percentiles-ttft').querySelectorAll('g.mark-line.role-mark path')].map((path) => path.getAttribute('stroke'));
  const slo = (name) => {
    const svg = figure(name).querySelector('svg').getBoundingClientRect();
    return [...figure(name).querySelectorAll('g.mark-rule.role-mark line')]
      .filter((line) => line.getAttribute('stroke') === '#b00020')
      .map((line) => { const box = line.getBoundingClientRect(); return { inside: box.top >= svg.top && box.bottom <= svg.bottom, width: box.width }; });
  };
  const labels = (name) => [...figure(name).querySelectorAll('text')].map((text) => text.textContent).filter((text) => text.startsWith('SLO '));
  const bands = (name) => figure(name).querySelectorAll('g.mark-area.role-mark path').length;
  const box = document.querySelector('[data-scroll="cells"]');
  const head = box.querySelector('thead th');
  const before = { boxTop: box.getBoundingClientRect().top, headTop: head.getBoundingClientRect().top };
  box.scrollTop = 200;
  const after = { boxTop: box.getBoundingClientRect().top, headTop: head.getBoundingClientRect().top, scrolled: box.scrollTop };
  const provenance = document.querySelector('section[data-section="provenance"]');
  return {
    widths, loadStrokes,
    slo: { ttft: slo('load-ttft'), tpot: slo('load-tpot'), tpotPercentiles: slo('percentiles-tpot'), throughput: slo('load-throughput') },
    labels: { tpot: labels('load-tpot'), tpotPercentiles: labels('percentiles-tpot') },
    bands: { ttft: bands('load-ttft'), tpot: bands('load-tpot'), throughput: bands('load-throughput') },
    latencyErrorBars: figure('latency-throughput').querySelectorAll('g.mark-rule.role-mark line').length,
    table: { scrollHeight: box.scrollHeight, clientHeight: box.clientHeight, overflowY: getComputedStyle(box).overflowY, position: getComputedStyle(head).position, before, after },
    provenance: provenance ? provenance.innerText : '',
    page: document.documentElement.outerHTML,
  };
})()`;

interface PageFacts {
  widths: number[];
  loadStrokes: string[];
  slo: Record<'ttft' | 'tpot' | 'tpotPercentiles' | 'throughput', { inside: boolean; width: number }[]>;
  labels: Record<'tpot' | 'tpotPercentiles', string[]>;
  bands: Record<'ttft' | 'tpot' | 'throughput', number>;
  latencyErrorBars: number;
  table: {
    scrollHeight: number;
    clientHeight: number;
    overflowY: string;
    position: string;
    before: { boxTop: number; headTop: number };
    after: { boxTop: number; headTop: number; scrolled: number };
  };
  provenance: string;
  page: string;
}

test('a wide sweep run with --repeat, at a 1280 px viewport: provenance, SLO rules, full-width charts, 8 load colours, repeat bands, a scrolling table', async () => {
  const html = await renderReportHtml(wideRepeatReport());
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    const facts = await inspectInChromium(file, async (page) => {
      await assertChartsLaidOut(page, CHARTS);
      return (await page.evaluate(PAGE_FACTS)) as PageFacts;
    });

    assert.match(facts.provenance, /target host\s+https:\/\/api\.example\.com:8443/);
    assert.match(facts.provenance, /tokenmeter\s+9\.8\.7/);
    assert.match(facts.provenance, /status\s+completed/);
    for (const secret of SECRETS) assert.ok(!facts.page.includes(secret), `${secret} on the page`);

    for (const width of facts.widths) assert.ok(width >= 1000, `a chart ${width} px wide`);

    // The TPOT p95 bound (4 ms) on the charts of TPOT; TTFT's on TTFT's; none on throughput.
    for (const [chart, rules] of Object.entries(facts.slo)) {
      if (chart === 'throughput') assert.equal(rules.length, 0, chart);
      else {
        assert.equal(rules.length, 1, chart);
        assert.ok(rules[0]!.inside && rules[0]!.width > 900, `${chart}: ${JSON.stringify(rules[0])}`);
      }
    }
    assert.deepEqual(facts.labels.tpot, ['SLO tpot_p95_ms ≤ 4']);
    assert.deepEqual(facts.labels.tpotPercentiles, ['SLO tpot_p95_ms ≤ 4']);

    // One line per cell, one colour per load level.
    assert.equal(facts.loadStrokes.length, WIDE_MODELS.length * WIDE_LEVELS.length);
    assert.equal(new Set(facts.loadStrokes).size, WIDE_LEVELS.length, facts.loadStrokes.join(' '));

    // A band per model on each load chart, and min–max bars on the latency chart.
    assert.deepEqual(facts.bands, { ttft: WIDE_MODELS.length, tpot: WIDE_MODELS.length, throughput: WIDE_MODELS.length });
    assert.ok(facts.latencyErrorBars >= WIDE_MODELS.length * WIDE_LEVELS.length * 2, `${facts.latencyErrorBars} bars`);

    const { table } = facts;
    assert.ok(table.scrollHeight > table.clientHeight, `the cells table fits its box (${table.scrollHeight} ≤ ${table.clientHeight})`);
    assert.equal(table.overflowY, 'auto');
    assert.equal(table.position, 'sticky');
    assert.equal(table.after.scrolled, 200);
    assert.ok(Math.abs(table.after.headTop - table.after.boxTop) <= 2, `the header scrolled away: ${JSON.stringify(table)}`);
  });
});
