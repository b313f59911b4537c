/**
 * The report's timeline of each cell (issue 16): output tokens/s per bin as
 * bars and requests in flight as a line on a second axis, over the seconds
 * since the cell's first send; the warm-up shaded grey, the throughput
 * window green. Drawn from summary.json's timeline (metrics/timeline.ts).
 */
import type { CellSummary } from '../metrics/cell-summary.js';
import type { CellTimeline } from '../metrics/timeline.js';
import { cellName, roundTo } from '../util/format.js';
import { AUTOSIZE, CHART_WIDTH, OKABE_ITO, toSvg, type Chart } from './charts.js';

const HEIGHT = 150;
const TOKENS_COLOUR = OKABE_ITO[0]!;
const IN_FLIGHT_COLOUR = OKABE_ITO[1]!;
const WARMUP_GREY = '#999999';
const WINDOW_GREEN = OKABE_ITO[2]!;

/**
 * One chart per cell, in order (`timeline-1`, `timeline-2`…); a cell without a timeline gets a note
 * instead. None at all when no cell has a timeline (a folder written before timelines were kept).
 */
export async function renderTimelineCharts(cells: readonly CellSummary[]): Promise<Chart[]> {
  if (!cells.some((cell) => cell.timeline)) return [];
  const charts: Chart[] = [];
  for (const [i, cell] of cells.entries()) {
    const name = `timeline-${i + 1}`;
    const { timeline } = cell;
    if (!timeline || timeline.outputTokens.length === 0) {
      const note = cell.requests === 0 ? 'No request of this cell was sent: nothing to draw.' : 'No timeline: no request of this cell has a wall-clock send time.';
      charts.push({ name, caption: cellName(cell), note });
      continue;
    }
    charts.push({ name, caption: timelineCaption(cell, timeline), svg: roundPathCoordinates(await toSvg(timelineSpec(timeline), name)) });
  }
  return charts;
}

function timelineCaption(cell: CellSummary, timeline: CellTimeline): string {
  const marks = [
    timeline.measuredFromMs !== undefined && timeline.measuredFromMs > 0 ? 'grey: warm-up' : '',
    timeline.window ? 'green: the throughput window' : '',
  ].filter(Boolean);
  return (
    `${cellName(cell)}: output tokens/s per ${roundTo(timeline.binMs / 1000)} s bin (blue, left axis) and requests in flight ` +
    `(time-weighted mean per bin, orange, right axis), over the seconds since the cell’s first request` +
    (marks.length > 0 ? `; ${marks.join('; ')}` : '')
  );
}

/**
 * The spec of one cell's timeline: x in seconds since the first request. Each bin's value is held
 * across the bin (steps): one path per series, not a mark per bin, so 200 bins stay a few KB.
 */
export function timelineSpec(timeline: CellTimeline): Parameters<typeof toSvg>[0] {
  const s = (ms: number): number => roundTo(ms / 1000);
  const steps = timeline.outputTokens.map((tokens, i) => ({
    from: s(timeline.firstBinMs + i * timeline.binMs),
    tokensPerS: roundTo((tokens * 1000) / timeline.binMs),
    inFlight: timeline.inFlight[i]!,
  }));
  // The last bin's step needs its end: the same values again where it ends.
  const last = steps.at(-1)!;
  steps.push({ ...last, from: s(timeline.firstBinMs + steps.length * timeline.binMs) });
  const x = { field: 'from', type: 'quantitative', title: 's since the first request', scale: { nice: false, zero: false }, axis: { grid: false, tickCount: 10 } } as const;
  const spans = [
    ...(timeline.measuredFromMs !== undefined && timeline.measuredFromMs > 0 ? [{ from: s(timeline.firstBinMs), to: s(timeline.measuredFromMs), colour: WARMUP_GREY }] : []),
    ...(timeline.window ? [{ from: s(timeline.window.startMs), to: s(timeline.window.endMs), colour: WINDOW_GREEN }] : []),
  ];
  return {
    width: CHART_WIDTH,
    height: HEIGHT,
    autosize: AUTOSIZE,
    // No per-item ARIA labels: a bin's numbers are in summary.json; the figure's caption says what is drawn.
    config: { aria: false },
    layer: [
      ...(spans.length > 0
        ? [
            {
              data: { values: spans },
              mark: { type: 'rect' as const, opacity: 0.15 },
              encoding: { x: { ...x }, x2: { field: 'to' }, color: { field: 'colour', type: 'nominal' as const, scale: null, legend: null } },
            },
          ]
        : []),
      {
        data: { values: steps },
        mark: { type: 'area', color: TOKENS_COLOUR, opacity: 0.6, interpolate: 'step-after' },
        encoding: { x, y: { field: 'tokensPerS', type: 'quantitative', title: 'output tokens/s', axis: { titleColor: TOKENS_COLOUR } } },
      },
      {
        data: { values: steps },
        mark: { type: 'line', color: IN_FLIGHT_COLOUR, strokeWidth: 1.5, interpolate: 'step-after' },
        encoding: { x, y: { field: 'inFlight', type: 'quantitative', title: 'in flight', axis: { orient: 'right', titleColor: IN_FLIGHT_COLOUR } } },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  };
}

/** Path coordinates to 0.1 px: vega writes 15 digits, which is most of a 200-step path's size. */
export function roundPathCoordinates(svg: string): string {
  return svg.replace(/\bd="([^"]*)"/g, (_, path: string) => `d="${path.replace(/-?\d+\.\d{2,}/g, (n) => String(Math.round(Number(n) * 10) / 10))}"`);
}
