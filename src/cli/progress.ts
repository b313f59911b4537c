/**
 * The progress line on stderr while a run goes on: cell, done/total and the
 * output tokens/s of the last few seconds. Only on a terminal; silent otherwise.
 */
import type { Progress } from '../load/run-scenario.js';

const WINDOW_MS = 5000;
const REDRAW_MS = 200;

export class ProgressLine {
  private readonly recent: { at: number; tokens: number }[] = [];
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(progress: Progress): void {
    if (!this.enabled) return;
    const at = this.now();
    this.recent.push({ at, tokens: progress.tokens });
    while (this.recent.length > 0 && this.recent[0]!.at < at - WINDOW_MS) this.recent.shift();
    if (at - this.lastDraw < REDRAW_MS && progress.done < progress.total) return;
    this.lastDraw = at;
    const span = Math.max(1, at - this.recent[0]!.at);
    const tokens = this.recent.reduce((sum, r) => sum + r.tokens, 0);
    const rate = this.recent.length > 1 ? (tokens * 1000) / span : 0;
    const text =
      `cell ${progress.cell}/${progress.cells} ${progress.model} @ ${progress.concurrency}: ` +
      `${progress.done}/${progress.total} requests, ${rate.toFixed(0)} output tok/s`;
    this.stream.write(`\r\x1b[2K${text}`);
  }

  clear(): void {
    if (this.enabled) this.stream.write('\r\x1b[2K');
  }
}
