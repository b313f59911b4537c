/**
 * The HTML report's charts: vega-lite specs built from the cell summaries,
 * rendered to inline SVG at write time by vega's headless renderer, so the
 * page needs no script, no network and no canvas.
 */
import hdr from 'hdr-histogram-js';
import type { Histogram, JsHistogram } from 'hdr-histogram-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { CellSummary, SpreadMetric } from '../metrics/cell-summary.js';
import { METRICS } from '../metrics/catalog.js';
import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  METRIC_UNITS,
  percentileDistribution,
  type MetricName,
} from '../metrics/histograms.js';
import type { CapacityOutcome, SloBound } from '../types.js';
import { formatNumber, loadLabel } from '../util/format.js';

/** What the charts are drawn from: the report's cells, SLO and capacity outcomes. */
export interface ChartInput {
  cells: readonly CellSummary[];
  slo: readonly SloBound[];
  capacity?: readonly CapacityOutcome[];
}

/** One rendered chart: inline SVG, or a note saying why there is none. */
export interface Chart {
  /** Stable name, written as the figure's `data-chart` attribute. */
  name: string;
  /** Plain text (not yet HTML-escaped). */
  caption: string;
  /** The chart as an SVG document fragment; undefined when there was nothing to draw. */
  svg?: string;
  /** Why there is no chart ("no samples"), plain text. */
  note?: string;
}

type Spec = vegaLite.TopLevelSpec;
/** One layer of a layered spec (vega-lite's index does not export the type). */
type Layer = Extract<Spec, { layer: unknown }>['layer'][number];

/**
 * Each chart's whole width, axes and legend included (autosize "fit"), px: the
 * page's content box at its 1,200 px max-width less its padding. The SVG
 * shrinks with a narrower window (max-width: 100% in the page's CSS).
 */
export const CHART_WIDTH = 1150;
const HEIGHT = 340;
/** Each chart fits CHART_WIDTH, axes and legend included. */
export const AUTOSIZE = { type: 'fit', contains: 'padding' } as const;
const PERCENTILE_METRICS = ['ttft', 'tpot', 'itl'] as const;
const LATENCY_PERCENTILES = ['p50', 'p95', 'p99'] as const;
const INVALID_GREY = '#999999';
const SLO_RED = '#b00020';

/**
 * Okabe & Ito's colour-blind-safe palette (2008), its yellow last: it reads
 * poorly on white. Models past the eighth reuse it (dashes tell them apart where it matters).
 */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000', '#F0E442'];

/** Code-point order: the same on every machine, unlike localeCompare. */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One colour per model, Okabe-Ito in model-name order, computed once for the
 * whole report so a model keeps its colour in charts where others are absent.
 */
export function modelColours(cells: readonly CellSummary[]): { domain: string[]; range: string[] } {
  const domain = [...new Set(cells.map((cell) => cell.model))].sort(byCodePoint);
  return { domain, range: domain.map((_, i) => OKABE_ITO[i % OKABE_ITO.length]!) };
}

/**
 * One colour per load level, dark to light in load order along viridis (a
 * perceptually uniform, colour-blind-safe scheme), stopping short of its pale
 * yellow end, which vanishes on white. Any number of levels gets distinct colours.
 */
export function loadColours(loads: readonly string[]): { domain: string[]; range: string[] } {
  const viridis = vega.scheme('viridis') as (t: number) => string;
  const last = Math.max(1, loads.length - 1);
  return { domain: [...loads], range: loads.map((_, i) => hexOf(viridis(loads.length === 1 ? 0.45 : (0.88 * i) / last))) };
}

/** `rgb(68, 1, 84)` → `#440154`: one spelling of a colour in the SVG. */
function hexOf(colour: string): string {
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(colour);
  return rgb ? `#${rgb.slice(1).map((c) => Number(c).toString(16).padStart(2, '0')).join('')}` : colour;
}

/** Load labels in load order (not alphabetical, where "c=16" would sort before "c=8"). */
function loadDomain(cells: readonly CellSummary[]): string[] {
  const sorted = [...cells].sort((a, b) => byCodePoint(a.load.kind, b.load.kind) || a.load.value - b.load.value);
  return [...new Set(sorted.map((cell) => loadLabel(cell.load)))];
}

/** Whether a cell is the knee (best passing load) of its model's capacity search. */
export function isKnee(cell: CellSummary, capacity: readonly CapacityOutcome[] = []): boolean {
  return capacity.some(
    (outcome) =>
      outcome.best !== undefined && outcome.model === cell.model && outcome.kind === cell.load.kind && outcome.best === cell.load.value,
  );
}

/** Renders every chart of the report, in page order. */
export async function renderCharts(input: ChartInput): Promise<Chart[]> {
  const colours = modelColours(input.cells);
  const charts: Chart[] = [await latencyThroughputChart(input, colours)];
  for (const chart of BY_LOAD_CHARTS) charts.push(await byLoadChart(input, chart, colours));
  for (const metric of PERCENTILE_METRICS) charts.push(await percentileChart(input, metric));
  charts.push(await tokensPerChunkChart(input.cells, colours));
  return charts;
}

type Colours = ReturnType<typeof modelColours>;

const colourEncoding = (colours: Colours) =>
  ({ field: 'model', type: 'nominal', title: 'model', scale: { domain: colours.domain, range: colours.range } }) as const;

async function latencyThroughputChart(input: ChartInput, colours: Colours): Promise<Chart> {
  const name = 'latency-throughput';
  const caption =
    'TTFT p50/p95/p99 against output throughput, one point per cell, labelled with its load' +
    sloCaption(input.slo, 'ttft') +
    (input.cells.some((cell) => cell.invalid) ? '; hollow grey points are invalid cells' : '') +
    repeatsCaption(input.cells, 'bars: each cell’s p50 and p95 TTFT and its throughput, lowest to highest') +
    kneeCaption(input);
  const rows = latencyRows(input);
  if (rows.length === 0) return { name, caption, note: 'No TTFT samples in any cell.' };
  return { name, caption, svg: await toSvg(latencyThroughputSpec(rows, input.slo, colours), name) };
}

function kneeCaption(input: ChartInput): string {
  const knees = input.cells.filter((cell) => isKnee(cell, input.capacity));
  return knees.length === 0 ? '' : `; ringed: the knee (${knees.map((cell) => `${cell.model} at ${loadLabel(cell.load)}`).join(', ')})`;
}

/** `; dashed red lines: the SLO bounds on TTFT` where the SLO bounds the metric. */
function sloCaption(slo: readonly SloBound[], metric: MetricName): string {
  return slo.some((bound) => bound.metric === metric) ? `; dashed red lines: the SLO bounds on ${METRICS[metric].label}` : '';
}

/** `; bands: … over 3 repeats` when the cells are merged repeats (`run --repeat`). */
function repeatsCaption(cells: readonly CellSummary[], what: string): string {
  const counts = [...new Set(cells.flatMap((cell) => (cell.repeats ? [cell.repeats.count] : [])))];
  return counts.length === 0 ? '' : `; ${what} over ${counts.join(' or ')} repeats`;
}

/** A spread's ends, or undefined where no repeat had the metric (JSON writes the infinities as null). */
function spreadOf(cell: CellSummary, metric: SpreadMetric): { min: number; max: number } | undefined {
  const spread = cell.repeats?.spread[metric];
  if (!spread || typeof spread.min !== 'number' || typeof spread.max !== 'number' || !Number.isFinite(spread.min) || !Number.isFinite(spread.max)) return undefined;
  return { min: spread.min, max: spread.max };
}

interface LatencyRow {
  model: string;
  load: string;
  loadValue: number;
  outputTokensPerS: number;
  percentile: (typeof LATENCY_PERCENTILES)[number];
  ttftMs: number;
  invalid: boolean;
  knee: boolean;
  /** Text next to the cell's top point: its load, and "knee" for the knee. */
  label: string;
  /** With --repeat, the lowest and highest value of this percentile over the repeats (p50 and p95 only), ms. */
  ttftMin?: number;
  ttftMax?: number;
  /** With --repeat, the lowest and highest throughput over the repeats (on the p50 row only), tokens/s. */
  tokensPerSMin?: number;
  tokensPerSMax?: number;
}

function latencyRows(input: ChartInput): LatencyRow[] {
  return input.cells.flatMap((cell) => {
    const knee = isKnee(cell, input.capacity);
    const load = loadLabel(cell.load);
    return LATENCY_PERCENTILES.flatMap((percentile) => {
      const ttftMs = cell.stats.ttft?.[percentile];
      if (ttftMs === undefined) return [];
      const ttftSpread = percentile === 'p99' ? undefined : spreadOf(cell, percentile === 'p50' ? 'ttft_p50' : 'ttft_p95');
      const throughputSpread = percentile === 'p50' ? spreadOf(cell, 'output_tokens_per_s') : undefined;
      return [
        {
          ...(ttftSpread ? { ttftMin: ttftSpread.min, ttftMax: ttftSpread.max } : {}),
          ...(throughputSpread ? { tokensPerSMin: throughputSpread.min, tokensPerSMax: throughputSpread.max } : {}),
          model: cell.model,
          load,
          loadValue: cell.load.value,
          outputTokensPerS: cell.outputTokensPerS,
          percentile,
          ttftMs,
          invalid: cell.invalid !== undefined,
          knee,
          label: knee ? `${load} knee` : load,
        },
      ];
    });
  });
}

function latencyThroughputSpec(rows: LatencyRow[], slo: readonly SloBound[], colours: Colours): Spec {
  const x = { field: 'outputTokensPerS', type: 'quantitative', title: 'output tokens/s (cell)' } as const;
  const y = { field: 'ttftMs', type: 'quantitative', title: `${METRICS.ttft.label} (${METRICS.ttft.unit})` } as const;
  const percentileScale = { domain: [...LATENCY_PERCENTILES] };
  const shape = { field: 'percentile', type: 'nominal', title: 'percentile', scale: percentileScale } as const;
  return {
    width: CHART_WIDTH,
    height: HEIGHT,
    autosize: AUTOSIZE,
    data: { values: rows },
    layer: [
      // The spread over repeats, drawn first so the points sit on it.
      {
        transform: [{ filter: 'isValid(datum.ttftMin)' }],
        mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 },
        encoding: { x, y: { field: 'ttftMin', type: 'quantitative' }, y2: { field: 'ttftMax' }, color: colourEncoding(colours) },
      },
      {
        transform: [{ filter: 'isValid(datum.tokensPerSMin)' }],
        mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 },
        encoding: { x: { field: 'tokensPerSMin', type: 'quantitative' }, x2: { field: 'tokensPerSMax' }, y, color: colourEncoding(colours) },
      },
      {
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x,
          y,
          color: colourEncoding(colours),
          strokeDash: { ...shape, scale: { ...percentileScale, range: [[1, 0], [6, 3], [2, 2]] } },
          order: { field: 'loadValue', type: 'quantitative' },
        },
      },
      {
        transform: [{ filter: '!datum.invalid' }],
        mark: { type: 'point', filled: true, size: 45, opacity: 1 },
        encoding: { x, y, color: colourEncoding(colours), shape },
      },
      {
        transform: [{ filter: 'datum.invalid' }],
        mark: { type: 'point', filled: false, size: 45, color: INVALID_GREY, strokeWidth: 1.5 },
        encoding: { x, y, shape },
      },
      {
        transform: [{ filter: 'datum.knee' }],
        mark: { type: 'point', shape: 'circle', filled: false, size: 380, color: '#000000', strokeWidth: 2 },
        encoding: { x, y },
      },
      // One label per cell, above its highest point, so three percentiles do not repeat it; the knee's in bold.
      ...[false, true].map((knee) => ({
        transform: [{ filter: `datum.percentile === 'p99' && ${knee ? '' : '!'}datum.knee` }],
        mark: { type: 'text' as const, dy: -12, fontSize: 10, fontWeight: knee ? ('bold' as const) : ('normal' as const) },
        encoding: {
          x,
          y,
          text: { field: 'label' },
          color: { condition: { test: 'datum.invalid', value: INVALID_GREY }, value: '#333333' },
        },
      })),
      ...sloLayers(slo, 'ttft'),
    ],
  };
}

/**
 * A dashed red rule across the plot at each SLO bound on `metric` (any
 * statistic: the label names it), labelled `SLO ttft_p95_ms ≤ 500` at the right edge.
 * The bound joins the y scale's domain, so a rule above every point is still drawn.
 */
function sloLayers(slo: readonly SloBound[], metric: MetricName): Layer[] {
  const bounds = slo
    .filter((bound) => bound.metric === metric)
    .map((bound) => ({ bound: bound.bound, label: `SLO ${bound.key} ${bound.direction === 'max' ? '≤' : '≥'} ${formatNumber(bound.bound)}` }));
  if (bounds.length === 0) return [];
  const y = { field: 'bound', type: 'quantitative' } as const;
  return [
    { data: { values: bounds }, mark: { type: 'rule', color: SLO_RED, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y } },
    {
      data: { values: bounds },
      mark: { type: 'text', color: SLO_RED, align: 'right', baseline: 'bottom', x: 'width', dx: -2, dy: -2, fontSize: 11 },
      encoding: { y, text: { field: 'label' } },
    },
  ];
}

/** A headline number against load, one line per model: its spread over repeats as a band, its SLO bounds as rules. */
interface ByLoadChart {
  name: string;
  /** `TTFT p95 (ms)`. */
  title: string;
  /** The metric whose SLO bounds are drawn; undefined: none apply. */
  metric?: MetricName;
  spread: SpreadMetric;
  value: (cell: CellSummary) => number | undefined;
}

const BY_LOAD_CHARTS: readonly ByLoadChart[] = [
  { name: 'load-ttft', title: `${METRICS.ttft.label} p95 (${METRICS.ttft.unit})`, metric: 'ttft', spread: 'ttft_p95', value: (cell) => cell.stats.ttft?.p95 },
  { name: 'load-tpot', title: `${METRICS.tpot.label} p95 (${METRICS.tpot.unit})`, metric: 'tpot', spread: 'tpot_p95', value: (cell) => cell.stats.tpot?.p95 },
  { name: 'load-throughput', title: 'output tokens/s (cell)', spread: 'output_tokens_per_s', value: (cell) => (cell.ok > 0 ? cell.outputTokensPerS : undefined) },
];

interface ByLoadRow {
  model: string;
  load: string;
  value: number;
  invalid: boolean;
  /** With --repeat: the lowest and highest value over the repeats. */
  min?: number;
  max?: number;
}

async function byLoadChart(input: ChartInput, chart: ByLoadChart, colours: Colours): Promise<Chart> {
  const caption =
    `${chart.title} at each load, one line per model` +
    (chart.metric ? sloCaption(input.slo, chart.metric) : '') +
    (input.cells.some((cell) => cell.invalid) ? '; hollow grey points are invalid cells' : '') +
    repeatsCaption(input.cells, 'bands and bars: lowest to highest');
  const rows = input.cells.flatMap((cell): ByLoadRow[] => {
    const value = chart.value(cell);
    if (value === undefined) return [];
    const spread = spreadOf(cell, chart.spread);
    return [{ model: cell.model, load: loadLabel(cell.load), value, invalid: cell.invalid !== undefined, ...(spread ?? {}) }];
  });
  if (rows.length === 0) return { name: chart.name, caption, note: `No ${chart.title} in any cell.` };
  const x = { field: 'load', type: 'ordinal', title: 'load', scale: { domain: loadDomain(input.cells) }, axis: { labelAngle: 0 } } as const;
  const y = { field: 'value', type: 'quantitative', title: chart.title } as const;
  const colour = colourEncoding(colours);
  const spec: Spec = {
    width: CHART_WIDTH,
    height: HEIGHT * 0.8,
    autosize: AUTOSIZE,
    data: { values: rows },
    layer: [
      // The line first: the shared legend takes its symbols from the first layer, not the pale band.
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color: colour } },
      { transform: [{ filter: 'isValid(datum.min)' }], mark: { type: 'area', fillOpacity: 0.18 }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color: colour } },
      { transform: [{ filter: 'isValid(datum.min)' }], mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color: colour } },
      { transform: [{ filter: '!datum.invalid' }], mark: { type: 'point', filled: true, size: 45, opacity: 1 }, encoding: { x, y, color: colour } },
      { transform: [{ filter: 'datum.invalid' }], mark: { type: 'point', filled: false, size: 45, color: INVALID_GREY, strokeWidth: 1.5 }, encoding: { x, y } },
      ...(chart.metric ? sloLayers(input.slo, chart.metric) : []),
    ],
  };
  return { name: chart.name, caption, svg: await toSvg(spec, chart.name) };
}

interface PercentilePoint {
  model: string;
  load: string;
  /** "model @ load": one line per cell. */
  series: string;
  /** Row order within the cell, so the line follows the distribution even where x repeats. */
  rank: number;
  inversePercentile: number;
  value: number;
}

async function percentileChart(input: ChartInput, metric: (typeof PERCENTILE_METRICS)[number]): Promise<Chart> {
  const { cells } = input;
  const name = `percentiles-${metric}`;
  const { label, unit } = METRICS[metric];
  const models = [...new Set(cells.map((cell) => cell.model))].sort(byCodePoint);
  const caption =
    `${label} percentile distribution per cell (HdrHistogram style: x is 1/(1−p) on a log scale), ${unit}; ` +
    `colour: the load, dark to light as it grows${models.length > 1 ? '; dash: the model' : ''}` +
    sloCaption(input.slo, metric);
  const points = percentilePoints(cells, metric);
  if (points.length === 0) return { name, caption, note: `No ${label} samples in any cell.` };
  return { name, caption, svg: await toSvg(percentileSpec(points, `${label} (${unit})`, loadDomain(cells), models, sloLayers(input.slo, metric)), name) };
}

/**
 * HdrHistogram's percentile rows of every cell. The last row (the max, at
 * 1/(1−p) = ∞) is clamped to the right edge of the axis rather than dropped,
 * so every line still ends at its cell's maximum.
 */
function percentilePoints(cells: readonly CellSummary[], metric: MetricName): PercentilePoint[] {
  const perCell = cells.map((cell) => ({ cell, rows: percentileDistribution(cell.histograms[metric], metric) }));
  const edge = percentileAxisMax(perCell.flatMap(({ rows }) => rows.map((row) => row.inversePercentile)));
  return perCell.flatMap(({ cell, rows }) =>
    rows.map((row, rank) => ({
      model: cell.model,
      load: loadLabel(cell.load),
      series: `${cell.model} @ ${loadLabel(cell.load)}`,
      rank,
      inversePercentile: Math.min(row.inversePercentile, edge),
      value: row.value,
    })),
  );
}

/** The axis ends at the power of ten at or above the largest finite 1/(1−p), and at least at 99% (100). */
function percentileAxisMax(inversePercentiles: number[]): number {
  const finite = inversePercentiles.filter(Number.isFinite);
  const largest = Math.max(100, ...finite);
  return 10 ** Math.ceil(Math.log10(largest) - 1e-9);
}

/** `axisTitle`: the metric and its unit, `TTFT (ms)`. */
function percentileSpec(points: PercentilePoint[], axisTitle: string, loads: string[], models: string[], slo: Layer[]): Spec {
  const edge = Math.max(...points.map((point) => point.inversePercentile));
  const ticks: number[] = [];
  for (let tick = 1; tick <= edge; tick *= 10) ticks.push(tick);
  const lines: Layer = {
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: {
        field: 'inversePercentile',
        type: 'quantitative',
        title: 'percentile',
        scale: { type: 'log', domain: [1, edge] },
        // 1/(1−p) = 10^k is the percentile 100·(1 − 10^−k): 0%, 90%, 99%, 99.9%…
        axis: { values: ticks, labelExpr: "format(100 - 100 / datum.value, '.6~g') + '%'", grid: true },
      },
      y: { field: 'value', type: 'quantitative', title: axisTitle },
      // A colour per load along viridis, so the sweep reads at a glance and 8+ levels stay apart; a dash per model (few, unlike loads).
      color: { field: 'load', type: 'ordinal', title: 'load', scale: loadColours(loads) },
      ...(models.length > 1 ? { strokeDash: { field: 'model', type: 'nominal', title: 'model', scale: { domain: models } } } : {}),
      detail: { field: 'series' },
      order: { field: 'rank', type: 'quantitative' },
    },
  };
  return { width: CHART_WIDTH, height: HEIGHT * 0.8, autosize: AUTOSIZE, data: { values: points }, layer: [lines, ...slo] };
}

interface ChunkBar {
  model: string;
  tokens: number;
  chunks: number;
  /** chunks / all of the model's chunks: models with different request counts compare. */
  share: number;
}

async function tokensPerChunkChart(cells: readonly CellSummary[], colours: Colours): Promise<Chart> {
  const name = 'tokens-per-chunk';
  const caption = 'Tokens per chunk, share of each model’s chunks (all its cells together)';
  const bars = chunkBars(cells);
  if (bars.length === 0) return { name, caption, note: 'No chunks carried tokens in any cell.' };
  return { name, caption, svg: await toSvg(tokensPerChunkSpec(bars, colours), name) };
}

function chunkBars(cells: readonly CellSummary[]): ChunkBar[] {
  const byModel = new Map<string, Histogram>();
  for (const cell of cells) {
    const merged = byModel.get(cell.model) ?? createHistogram();
    merged.add(cell.histograms.tokens_per_chunk);
    byModel.set(cell.model, merged);
  }
  return [...byModel.keys()].sort(byCodePoint).flatMap((model) => {
    const histogram = byModel.get(model)!;
    const total = histogram.totalCount;
    return recordedValues(histogram, 'tokens_per_chunk').map(({ value, count }) => ({ model, tokens: value, chunks: count, share: count / total }));
  });
}

/**
 * Every recorded value with its count, in the metric's unit. The Histogram
 * interface has no iterator, so this walks JsHistogram's buckets (exact for
 * integers below 2048 at 3 significant digits); any other implementation is
 * first decoded into one through the project's own encoding.
 */
export function recordedValues(histogram: Histogram, metric: MetricName): { value: number; count: number }[] {
  const js = (histogram instanceof hdr.JsHistogram ? histogram : decodeHistogram(encodeHistogram(histogram))) as JsHistogram;
  const values: { value: number; count: number }[] = [];
  if (js.totalCount === 0) return values;
  for (let value = 0; value <= js.maxValue; value = js.nextNonEquivalentValue(value)) {
    const count = js.getCountAtIndex(js.countsArrayIndex(value));
    if (count > 0) values.push({ value: value / METRIC_UNITS[metric].scale, count });
  }
  return values;
}

function tokensPerChunkSpec(bars: ChunkBar[], colours: Colours): Spec {
  const low = Math.min(...bars.map((bar) => bar.tokens));
  const high = Math.max(...bars.map((bar) => bar.tokens));
  // A continuous run of token counts shows gaps as gaps; past a few hundred bands it would be unreadable.
  const domain = high - low < 256 ? Array.from({ length: high - low + 1 }, (_, i) => low + i) : undefined;
  return {
    width: CHART_WIDTH,
    height: HEIGHT * 0.7,
    autosize: AUTOSIZE,
    data: { values: bars },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'tokens', type: 'ordinal', title: 'tokens in the chunk', axis: { labelAngle: 0 }, ...(domain ? { scale: { domain } } : {}) },
      xOffset: { field: 'model', type: 'nominal', scale: { domain: colours.domain } },
      y: { field: 'share', type: 'quantitative', title: 'share of chunks', axis: { format: '.0%' } },
      color: colourEncoding(colours),
    },
  };
}

/** Refuses every load: the specs carry their data inline, so any fetch would be a bug (and a network access). */
const OFFLINE_LOADER: vega.Loader = {
  load: (uri) => Promise.reject(new Error(`report charts load nothing (asked for ${uri})`)),
  sanitize: (uri) => Promise.reject(new Error(`report charts load nothing (asked for ${uri})`)),
  http: (uri) => Promise.reject(new Error(`report charts load nothing (asked for ${uri})`)),
  file: (filename) => Promise.reject(new Error(`report charts load nothing (asked for ${filename})`)),
};

/** vega-lite → vega → SVG string, headless (renderer 'none': no canvas; text widths are estimated). */
export async function toSvg(spec: Spec, idPrefix: string): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none', loader: OFFLINE_LOADER });
  try {
    return stableIds(await view.toSVG(), idPrefix);
  } finally {
    view.finalize();
  }
}

/**
 * vega numbers clip paths from a process-wide counter, so the same chart
 * rendered twice would differ, and two charts on one page could collide.
 * Renumbers every id per chart, in order of appearance.
 */
function stableIds(svg: string, prefix: string): string {
  const renamed = new Map<string, string>();
  for (const [, id] of svg.matchAll(/\bid="([^"]+)"/g)) {
    if (!renamed.has(id!)) renamed.set(id!, `${prefix}-${renamed.size + 1}`);
  }
  if (renamed.size === 0) return svg;
  return svg.replace(/(\bid="|url\(#|href="#)([^")]+)/g, (match, lead: string, id: string) => {
    const next = renamed.get(id);
    return next === undefined ? match : `${lead}${next}`;
  });
}
