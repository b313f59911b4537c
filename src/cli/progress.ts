/**
 * The live view on stderr while a run goes on: the cell, a progress bar,
 * output tokens/s and TTFT p95 over the last few seconds, and the failed (or
 * dropped) requests so far. Only on a terminal; silent otherwise (CI logs stay clean).
 */
import type { Progress } from '../load/progress.js';
import { systemClock, type Clock } from '../util/clock.js';
import { loadLabel } from '../util/format.js';

const WINDOW_MS = 5000;
const REDRAW_MS = 200;
const BAR_WIDTH = 20;

export class ProgressLine {
  private readonly recent: { at: number; tokens: number; firstChunkMs?: number }[] = [];
  private lastDraw = 0;
  private errors = 0;
  private cell = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(progress: Progress): void {
    if (!this.enabled) return;
    const at = this.clock.now();
    if (progress.cell !== this.cell) {
      // A new cell: its rolling numbers start afresh; errors are counted for the whole run.
      this.cell = progress.cell;
      this.recent.length = 0;
    }
    if (progress.failed && !progress.warmup) this.errors++;
    this.recent.push({ at, tokens: progress.tokens, ...(progress.firstChunkMs !== undefined ? { firstChunkMs: progress.firstChunkMs } : {}) });
    while (this.recent.length > 0 && this.recent[0]!.at < at - WINDOW_MS) this.recent.shift();
    const last = progress.total !== undefined && progress.done >= progress.total;
    if (at - this.lastDraw < REDRAW_MS && !last) return;
    this.lastDraw = at;
    this.stream.write(`\r\x1b[2K${this.render(progress, at)}`);
  }

  private render(progress: Progress, at: number): string {
    const span = Math.max(1, at - this.recent[0]!.at);
    const tokens = this.recent.reduce((sum, r) => sum + r.tokens, 0);
    const rate = this.recent.length > 1 ? (tokens * 1000) / span : 0;
    const ttfts = this.recent.flatMap((r) => (r.firstChunkMs === undefined ? [] : [r.firstChunkMs])).sort((a, b) => a - b);
    const ttftP95 = ttfts.length > 0 ? `${ttfts[Math.min(ttfts.length - 1, Math.floor(ttfts.length * 0.95))]!.toFixed(0)} ms` : '-';
    const fraction =
      progress.total !== undefined
        ? progress.done / progress.total
        : progress.durationMs !== undefined
          ? progress.elapsedMs / progress.durationMs
          : undefined;
    const cells = progress.cells !== undefined ? `${progress.cell}/${progress.cells}` : `${progress.cell}`;
    return [
      `cell ${cells} ${progress.model} @ ${loadLabel(progress.load)}`,
      fraction === undefined ? '' : bar(fraction),
      `${progress.done}${progress.total !== undefined ? `/${progress.total}` : ''} requests`,
      `${rate.toFixed(0)} output tok/s`,
      `TTFT p95 ${ttftP95}`,
      `failed ${this.errors}`,
    ]
      .filter((part) => part !== '')
      .join('  ');
  }

  clear(): void {
    if (this.enabled) this.stream.write('\r\x1b[2K');
  }
}

/** `[#######-------------]  35%` */
function bar(fraction: number): string {
  const clamped = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(clamped * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}%`;
}
