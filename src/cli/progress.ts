/**
 * The live view on stderr while a run goes on: the cell, its warm-up and
 * measured requests apart, a progress bar, output tokens/s over the measured
 * requests so far, TTFT p95 over the last few seconds, and the failed (or
 * dropped) requests so far. On a terminal one line redrawn in place, cut to
 * the terminal's width (never wrapped); without one (a CI log) a plain line
 * every PLAIN_EVERY_MS and as each cell ends, so a long run is never silent.
 */
import type { Progress } from '../load/progress.js';
import { systemClock, type Clock } from '../util/clock.js';
import { loadLabel } from '../util/format.js';

const TTFT_WINDOW_MS = 5000;
const REDRAW_MS = 200;
/** Without a terminal, a progress line this often (and at each cell's end). */
export const PLAIN_EVERY_MS = 10_000;
const BAR_WIDTH = 20;
/** Width used when a terminal does not say its own. */
const DEFAULT_COLUMNS = 100;
/** A log line is not redrawn and has no terminal to wrap it: room for every field. */
const PLAIN_COLUMNS = 160;

/** One field of the line, and how long it stays when the line must be cut (higher stays longer). */
interface Field {
  text: string;
  keep: number;
}

export class ProgressLine {
  private cell = 0;
  private errors = 0;
  private warmupsDone = 0;
  private measuredDone = 0;
  /**
   * Output tokens of the measured requests that ended since `measuredSince`:
   * the measured phase starts when the last warm-up request ends (the cell's
   * start without warm-up), as the throughput window of the final figure does
   * once every slot carries measured work; so the live figure reads like it.
   */
  private measuredTokens = 0;
  private measuredSince = 0;
  private readonly recentTtft: { at: number; ms: number }[] = [];
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastPlain: number | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {}

  private get terminal(): boolean {
    return this.stream.isTTY === true;
  }

  update(progress: Progress): void {
    const at = this.clock.now();
    if (progress.cell !== this.cell) {
      // A new cell: its counts start afresh; errors are counted for the whole run.
      this.cell = progress.cell;
      this.warmupsDone = 0;
      this.measuredDone = 0;
      this.measuredTokens = 0;
      this.measuredSince = at - progress.elapsedMs;
      this.recentTtft.length = 0;
    }
    if (progress.warmup) {
      this.warmupsDone++;
      this.measuredSince = at;
      this.measuredTokens = 0;
    } else {
      this.measuredDone++;
      this.measuredTokens += progress.tokens;
      if (progress.failed) this.errors++;
      if (progress.firstChunkMs !== undefined) this.recentTtft.push({ at, ms: progress.firstChunkMs });
    }
    while (this.recentTtft.length > 0 && this.recentTtft[0]!.at < at - TTFT_WINDOW_MS) this.recentTtft.shift();

    const cellDone = progress.total !== undefined && progress.done >= progress.total;
    if (this.terminal) {
      if (at - this.lastDraw < REDRAW_MS && !cellDone) return;
      this.lastDraw = at;
      this.stream.write(`\r\x1b[2K${fit(this.fields(progress, at, true), (this.stream.columns || DEFAULT_COLUMNS) - 1)}`);
      return;
    }
    if (!cellDone && this.lastPlain !== undefined && at - this.lastPlain < PLAIN_EVERY_MS) return;
    this.lastPlain = at;
    this.stream.write(`progress: ${fit(this.fields(progress, at, false), PLAIN_COLUMNS - 'progress: '.length)}\n`);
  }

  private fields(progress: Progress, at: number, bar: boolean): Field[] {
    const elapsed = at - this.measuredSince;
    const rate = this.measuredDone > 0 && elapsed > 0 ? (this.measuredTokens * 1000) / elapsed : 0;
    const ttfts = this.recentTtft.map((r) => r.ms).sort((a, b) => a - b);
    const ttftP95 = ttfts.length > 0 ? `${ttfts[Math.min(ttfts.length - 1, Math.floor(ttfts.length * 0.95))]!.toFixed(0)} ms` : '-';
    const fraction =
      progress.total !== undefined
        ? progress.done / progress.total
        : progress.durationMs !== undefined
          ? progress.elapsedMs / progress.durationMs
          : undefined;
    const cells = progress.cells !== undefined ? `${progress.cell}/${progress.cells}` : `${progress.cell}`;
    const warmups = progress.warmups;
    const inWarmup = warmups !== undefined && this.warmupsDone < warmups && this.measuredDone === 0;
    const measuredTotal = progress.total !== undefined ? progress.total - (warmups ?? 0) : undefined;
    const counts = inWarmup
      ? `warm-up ${this.warmupsDone}/${warmups}`
      : `${this.measuredDone}${measuredTotal !== undefined ? `/${measuredTotal}` : ''} requests`;
    return [
      { text: `cell ${cells} ${progress.model} @ ${loadLabel(progress.load)}`, keep: 100 },
      ...(bar && fraction !== undefined ? [{ text: drawBar(fraction), keep: 10 }] : []),
      { text: counts, keep: 90 },
      { text: `${rate.toFixed(0)} output tok/s`, keep: 50 },
      { text: `TTFT p95 ${ttftP95}`, keep: 40 },
      { text: `failed ${this.errors}`, keep: this.errors > 0 ? 80 : 20 },
    ];
  }

  clear(): void {
    if (this.terminal) this.stream.write('\r\x1b[2K');
  }
}

/** The fields joined, the least needed left out until the line fits `width`; the first field is cut to fit if it alone does not. */
function fit(fields: readonly Field[], width: number): string {
  let kept = [...fields];
  const join = (parts: readonly Field[]): string => parts.map((field) => field.text).join('  ');
  while (join(kept).length > width && kept.length > 1) {
    const least = kept.slice(1).reduce((a, b) => (b.keep < a.keep ? b : a));
    kept = kept.filter((field) => field !== least);
  }
  const line = join(kept);
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}

/** `[#######-------------]  35%` */
function drawBar(fraction: number): string {
  const clamped = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(clamped * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}%`;
}
