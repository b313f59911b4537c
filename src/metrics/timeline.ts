/**
 * A cell's timeline: what happened over its wall-clock time, in bins (issue
 * 16): output tokens per bin (each chunk's tokens at its arrival, so tokens/s
 * per bin is exact), requests in flight (time-weighted mean over the bin),
 * requests sent, ended, failed and dropped. Warm-up requests are in it too:
 * the timeline shows the run as the server saw it; where the measured part
 * begins and the throughput window are marked.
 *
 * Bounded memory, whatever the cell's length: the accumulator keeps at most
 * MAX_BASE_BINS fine bins, made ten times coarser whenever the cell outgrows
 * them; the summary re-bins them into at most MAX_BINS bins of a round width
 * (100 ms, 200 ms, 500 ms, 1 s, 2 s, 5 s …).
 *
 * Exact and order-free, so `merge` of shards gives the one-process timeline:
 * every time is taken from the record's Unix fields as requests.jsonl writes
 * them (µs), in integer µs, and bins lie on Unix multiples of their width
 * (shards, and the server's own metrics, line up). In-flight time is summed
 * from each bin's sends and ends (count and time within the bin), so it needs
 * no per-request list and adds up in any order.
 */
import type { RequestRecord } from '../types.js';
import { roundTo } from '../util/format.js';
import { tokenArrivals } from './window.js';

/** Most bins the summary's timeline has. */
export const MAX_BINS = 200;
/** Most fine bins the accumulator keeps before it makes them ten times coarser. */
export const MAX_BASE_BINS = 2000;
/** The finest bin, ms: finer, tokens/s per bin shows the chunking (a chunk every few ms) more than the load. */
export const MIN_BIN_MS = 100;

/** A cell's timeline as summary.json holds it. Times are ms relative to `startUnixMs`, µs kept. */
export interface CellTimeline {
  /** Unix time of the cell's first request (its send; a dropped arrival's scheduled time), ms. */
  startUnixMs: number;
  /** Width of every bin, ms: a round 1-2-5 step (100, 200, 500, 1,000 … ms). */
  binMs: number;
  /**
   * Where bin 0 starts, relative to `startUnixMs`, ms (−binMs < firstBinMs ≤ 0): bins lie on Unix
   * multiples of `binMs`. Bin i covers [firstBinMs + i·binMs, firstBinMs + (i+1)·binMs).
   */
  firstBinMs: number;
  /** When the first measured (not warm-up) request was sent, ms; undefined when none was. Before it: warm-up. */
  measuredFromMs?: number;
  /** The cell's throughput window (metrics/window.ts), ms; undefined when it has none (merged repeats, nothing measured). */
  window?: { startMs: number; endMs: number };
  /** Per bin: output tokens whose chunks arrived in it (tokens/s = outputTokens / binMs × 1000). */
  outputTokens: number[];
  /** Per bin: requests in flight (sent, not yet ended), time-weighted mean over the bin. */
  inFlight: number[];
  /** Per bin: requests sent. */
  started: number[];
  /** Per bin: requests that ended, whatever their outcome (ok, failed, interrupted). */
  ended: number[];
  /** Per bin: failed requests (interrupted ones excluded) by the time they ended. */
  errors: number[];
  /** Per bin: open-loop arrivals dropped at maxInFlight, by their scheduled time. */
  dropped: number[];
}

/** One fine bin; times within it are µs from its start, summed (what in-flight time is made of). */
interface Bin {
  outputTokens: number;
  started: number;
  ended: number;
  errors: number;
  dropped: number;
  /** Σ (send − bin start) over the sends in the bin, µs. */
  startedOffsetUs: number;
  /** Σ (end − bin start) over the ends in the bin, µs. */
  endedOffsetUs: number;
}

const emptyBin = (): Bin => ({ outputTokens: 0, started: 0, ended: 0, errors: 0, dropped: 0, startedOffsetUs: 0, endedOffsetUs: 0 });

/** ms (as requests.jsonl writes them, µs kept) → integer µs. */
const us = (ms: number): number => Math.round(ms * 1000);

/** One request's times on Unix time, integer µs. */
interface TimedRequest {
  warmup: boolean;
  /** An open-loop arrival dropped at maxInFlight: never sent; `at` is when it was due. */
  dropped: boolean;
  /** Failed (an interrupted request is not). */
  failed: boolean;
  /** Its send. */
  at: number;
  /** Its end (send + E2E). */
  end: number;
  /** Each chunk's arrival and tokens. */
  tokens: { at: number; tokens: number }[];
}

/** A record's times as the timeline bins them; undefined for a record with no wall-clock time. */
function timedRequest(record: RequestRecord): TimedRequest | undefined {
  const warmup = record.warmup;
  if (record.outcome === 'dropped') {
    if (record.scheduledAtUnixMs === undefined) return undefined;
    const at = us(record.scheduledAtUnixMs);
    return { warmup, dropped: true, failed: false, at, end: at, tokens: [] };
  }
  if (record.sentAtUnixMs === undefined) return undefined;
  const m = record.metrics;
  const at = us(record.sentAtUnixMs);
  const end = at + us(m.e2eMs);
  // Tokens no chunk carried arrive with the end, as the throughput window counts them.
  const tokens = tokenArrivals(m, (chunkMs) => at + us(chunkMs), end);
  const failed = record.outcome === 'error' && record.error?.class !== 'interrupted';
  return { warmup, dropped: false, failed, at, end, tokens };
}

/** The fine bins of one cell, filled one record at a time, in any order. */
export class TimelineBins {
  /** Width of the fine bins, µs: 100 ms, made ×10 coarser when the cell spans more than MAX_BASE_BINS of them. */
  private baseUs = MIN_BIN_MS * 1000;
  /** Fine bins by their index on Unix time (start = index × baseUs). */
  private bins = new Map<number, Bin>();
  /** The earliest and latest instant seen, and the first request's and first measured request's time, Unix µs. */
  private minUs = Infinity;
  private maxUs = -Infinity;
  private firstUs = Infinity;
  private measuredFromUs = Infinity;

  /** Adds a request's sends, ends and tokens; a record without a wall-clock time (a library caller's) is left out. */
  add(record: RequestRecord): void {
    const request = timedRequest(record);
    if (!request) return;
    // Each time is rounded to the µs on its own: the last chunk may land a µs past the end.
    let earliest = request.at;
    let latest = request.end;
    for (const chunk of request.tokens) {
      earliest = Math.min(earliest, chunk.at);
      latest = Math.max(latest, chunk.at);
    }
    this.cover(earliest, latest);
    this.firstUs = Math.min(this.firstUs, request.at);
    if (!request.warmup) this.measuredFromUs = Math.min(this.measuredFromUs, request.at);
    if (request.dropped) {
      this.binAt(request.at).bin.dropped++;
      return;
    }
    const sent = this.binAt(request.at);
    sent.bin.started++;
    sent.bin.startedOffsetUs += sent.offsetUs;
    const ended = this.binAt(request.end);
    ended.bin.ended++;
    ended.bin.endedOffsetUs += ended.offsetUs;
    if (request.failed) ended.bin.errors++;
    for (const chunk of request.tokens) this.binAt(chunk.at).bin.outputTokens += chunk.tokens;
  }

  /** Widens the span to [fromUs, toUs], making the bins coarser until it fits in MAX_BASE_BINS of them. */
  private cover(fromUs: number, toUs: number): void {
    this.minUs = Math.min(this.minUs, fromUs);
    this.maxUs = Math.max(this.maxUs, toUs);
    while (Math.floor(this.maxUs / this.baseUs) - Math.floor(this.minUs / this.baseUs) + 1 > MAX_BASE_BINS) {
      const coarser = this.baseUs * 10;
      this.bins = rebin(this.bins, this.baseUs, coarser);
      this.baseUs = coarser;
    }
  }

  private binAt(atUs: number): { bin: Bin; offsetUs: number } {
    const index = Math.floor(atUs / this.baseUs);
    let bin = this.bins.get(index);
    if (!bin) this.bins.set(index, (bin = emptyBin()));
    return { bin, offsetUs: atUs - index * this.baseUs };
  }

  /**
   * The timeline: the fine bins in the round width that gives at most MAX_BINS bins, from the
   * first request to the last end; undefined when no request had a wall-clock time.
   * `windowUnixMs` is the throughput window on Unix time, ms.
   */
  timeline(windowUnixMs?: { startMs: number; endMs: number }): CellTimeline | undefined {
    if (this.firstUs === Infinity) return undefined;
    const widthUs = binWidthUs(this.minUs, this.maxUs, this.baseUs);
    const bins = rebin(this.bins, this.baseUs, widthUs);
    const firstIndex = Math.floor(this.minUs / widthUs);
    const count = Math.floor(this.maxUs / widthUs) - firstIndex + 1;
    const timeline: CellTimeline = {
      startUnixMs: this.firstUs / 1000,
      binMs: widthUs / 1000,
      firstBinMs: (firstIndex * widthUs - this.firstUs) / 1000,
      outputTokens: [],
      inFlight: [],
      started: [],
      ended: [],
      errors: [],
      dropped: [],
    };
    if (this.measuredFromUs !== Infinity) timeline.measuredFromMs = (this.measuredFromUs - this.firstUs) / 1000;
    if (windowUnixMs) {
      // On the µs grid of every other time here, so the window's start is the first measured send exactly.
      const relative = (unixMs: number): number => (us(unixMs) - this.firstUs) / 1000;
      timeline.window = { startMs: relative(windowUnixMs.startMs), endMs: relative(windowUnixMs.endMs) };
    }
    // In flight at a bin's start: every earlier send less every earlier end (none before the first bin).
    let inFlightAtStart = 0;
    for (let i = 0; i < count; i++) {
      const bin = bins.get(firstIndex + i) ?? emptyBin();
      // ∫ in-flight over the bin: those in flight at its start, plus each send's time to the bin's end, less each end's.
      const inFlightUs = (inFlightAtStart + bin.started - bin.ended) * widthUs - bin.startedOffsetUs + bin.endedOffsetUs;
      timeline.outputTokens.push(bin.outputTokens);
      timeline.inFlight.push(roundTo(inFlightUs / widthUs));
      timeline.started.push(bin.started);
      timeline.ended.push(bin.ended);
      timeline.errors.push(bin.errors);
      timeline.dropped.push(bin.dropped);
      inFlightAtStart += bin.started - bin.ended;
    }
    return timeline;
  }
}

/** Bins of width `fromUs` as bins of width `toUs` (a multiple of it, both on Unix multiples): exact. */
function rebin(bins: ReadonlyMap<number, Bin>, fromUs: number, toUs: number): Map<number, Bin> {
  if (toUs === fromUs) return new Map(bins);
  const ratio = toUs / fromUs;
  const coarse = new Map<number, Bin>();
  for (const [index, bin] of bins) {
    const to = Math.floor(index / ratio);
    let into = coarse.get(to);
    if (!into) coarse.set(to, (into = emptyBin()));
    // A time's offset in the coarse bin is its offset in the fine one plus where the fine one starts in it.
    const shiftUs = index * fromUs - to * toUs;
    into.outputTokens += bin.outputTokens;
    into.started += bin.started;
    into.ended += bin.ended;
    into.errors += bin.errors;
    into.dropped += bin.dropped;
    into.startedOffsetUs += bin.startedOffsetUs + bin.started * shiftUs;
    into.endedOffsetUs += bin.endedOffsetUs + bin.ended * shiftUs;
  }
  return coarse;
}

/**
 * The round bin width (1-2-5 steps, at least MIN_BIN_MS and the fine bins' width, a multiple of
 * it) that covers [fromUs, toUs] in at most MAX_BINS bins on Unix multiples, µs.
 */
export function binWidthUs(fromUs: number, toUs: number, baseUs = MIN_BIN_MS * 1000): number {
  for (let decade = MIN_BIN_MS * 1000; ; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const width = decade * step;
      if (width < baseUs || width % baseUs !== 0) continue;
      if (Math.floor(toUs / width) - Math.floor(fromUs / width) + 1 <= MAX_BINS) return width;
    }
  }
}
