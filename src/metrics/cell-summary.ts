/**
 * The accumulator: request records in, one cell's summary out
 * (METRICS.md, "Per run"). Warm-up requests are excluded from everything.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { CellKey, ErrorClass, RequestRecord, SloBound, TokenSource } from '../types.js';
import { CELL_VALUES_BY_NAME, HISTOGRAM_METRICS, samplesOf, type CellValueName, type HistogramMetric } from './catalog.js';
import { clientCauses, describeCauses, type ClientCause, type ClientHealth } from './client-health.js';
import { createHistogram, METRIC_NAMES, recordValue, statsOf, type MetricName, type Stats } from './histograms.js';
import { cellSloVerdict, type SloVerdict } from './slo.js';
import { TimelineBins, type CellTimeline } from './timeline.js';
import { TurnAccumulator, type TurnSummary } from './turns.js';
import { countInWindow, shortWindowReason, steadyStateWindow, tokenArrivals, type ThroughputWindow, type WindowCounts, type WindowRequest } from './window.js';

/** One failure of a class, to show what went wrong: the HTTP status (if any) and the message. */
export interface ErrorExample {
  status?: number;
  message: string;
}

/** A cell with more than this share of approximate requests says so wherever its ITL is shown (METRICS.md). */
export const APPROXIMATE_ITL_RATE = 0.1;

/** What a cell with too many approximate token counts says beside its ITL and TPOT; undefined when it has few. */
export function approximateTokensNote(cell: Pick<CellSummary, 'approximateRate' | 'serverCountsRejected'>): string | undefined {
  if (cell.approximateRate <= APPROXIMATE_ITL_RATE) return undefined;
  return (
    `ITL and TPOT approximate: ${Math.round(cell.approximateRate * 100)}% of requests' per-chunk token counts are not exact ` +
    `(a tokenizer that is not the server's; set models[].tokenizer${cell.serverCountsRejected > 0 ? `, and ${cell.serverCountsRejected} requests' server counts failed validation: see token_source_reason in requests.jsonl` : ''})`
  );
}

export interface CellSummary extends CellKey {
  /** Measured requests (warm-up excluded), including failed and interrupted ones. */
  requests: number;
  ok: number;
  /** Failed requests, interrupted ones excluded. */
  errors: number;
  /** Requests cut short by Ctrl-C. */
  interrupted: number;
  /** Open-loop arrivals never sent because maxInFlight requests were in flight. */
  dropped: number;
  /**
   * Measured requests sent a second time on a new connection (a stale keep-alive connection):
   * the server may have seen requests + resends attempts.
   */
  resends: number;
  errorsByClass: Partial<Record<ErrorClass, number>>;
  /** The first failure of each class, as recorded (secrets already scrubbed): what the errors section shows. */
  errorExamples: Partial<Record<ErrorClass, ErrorExample>>;
  /** errors / (requests - interrupted); 0 when nothing completed. */
  errorRate: number;
  /**
   * The steady-state window (metrics/window.ts): closed loop, the first measured t0 until the first
   * slot ran out of measured work; open loop, the first to the last measured arrival. Merged
   * repeats: each repeat's window, summed. s.
   */
  windowS: number;
  /** Output tokens whose chunks arrived inside the window, from any request (warm-up included) / window, tokens/s. */
  outputTokensPerS: number;
  /** Requests that ended successfully inside the window (warm-up included) / window, requests/s. */
  requestsPerS: number;
  /** Measured requests that met every per-request SLO bound; undefined without an SLO. */
  goodRequests?: number;
  /** Requests that ended inside the window and met every SLO bound / window, requests/s (METRICS.md's goodput); undefined without an SLO. */
  goodputPerS?: number;
  /**
   * Why the cell's throughput is mostly ramp (fewer than 3 measured requests per slot, a window
   * shorter than 5 median E2E latencies); undefined when its window is long enough. Latencies are unaffected.
   */
  short?: string;
  /** The cell-level SLO verdict; undefined without an SLO. */
  slo?: SloVerdict;
  /**
   * Why the cell's numbers do not describe the server (p99 schedule lag or client event-loop delay
   * over its bound, client utilization near 1: metrics/client-health.ts); undefined when valid.
   */
  invalid?: string;
  /**
   * Share of the cell's load the reading thread's event loop was busy, 0–1 (merged repeats:
   * weighted by each one's time); undefined when no client-health monitor ran (a simulated clock).
   */
  clientUtilization?: number;
  /** How long the client-health monitor watched the reading thread, ms: what weighs its utilization when parts merge. */
  clientMonitoredMs?: number;
  /**
   * `run --shard`: how late the shard started the cell after its scheduled start, ms; merged shards:
   * the latest of them. A shard later than `load.maxStartOffset` marks its part invalid.
   */
  startOffsetMs?: number;
  /** On the merged row of `run --repeat K`: K, and how much each headline number varied between the repeats. */
  repeats?: { count: number; spread: Record<SpreadMetric, Spread> };
  stats: Partial<Record<MetricName, Stats>>;
  histograms: Record<MetricName, Histogram>;
  tokenSources: Partial<Record<TokenSource, number>>;
  tokenizer: string;
  /** Share of successful requests whose usage total differed from the tokenizer's. */
  usageMismatchRate: number;
  /** Mean (server − tokenizer) over the mismatched requests, tokens. */
  usageMismatchMean: number;
  /**
   * Share of successful requests whose per-chunk counts are approximate (scaled
   * to the server's total, or the fallback tokenizer's): above
   * APPROXIMATE_ITL_RATE the cell's ITL and TPOT are flagged where shown.
   */
  approximateRate: number;
  /** Successful requests whose logprobs or continuous usage failed validation (requests.jsonl says why, per request). */
  serverCountsRejected: number;
  /**
   * Multi-turn sessions: TTFT and prompt tokens (cached and all) turn by turn, over the measured
   * requests (metrics/turns.ts); undefined for a single-turn cell.
   */
  byTurn?: TurnSummary[];
  /** Where the server reported its own timings (METRICS.md, "Server-reported timings"), ms. */
  serverTimings?: {
    requests: number;
    serverTtftP50Ms?: number;
    /** Median of client TTFT − server TTFT per request: network and queueing outside the server. */
    ttftMinusServerP50Ms?: number;
    serverE2eP50Ms?: number;
    e2eMinusServerP50Ms?: number;
  };
  /**
   * The cell over its wall-clock time, in bins: output tokens, requests in flight, sent, ended,
   * failed, dropped (metrics/timeline.ts); warm-up included, its end and the window marked.
   * Undefined when no request has a wall-clock time, and on merged repeats (each repeat has its own).
   */
  timeline?: CellTimeline;
}

/** Raw timestamps of a request, for the throughput window (the client's clock, ms). */
export interface WindowEdges {
  /** When it was due (open loop; default t0, as in closed loop). */
  ts?: number;
  t0: number;
  tEnd: number;
}

export interface CellOptions {
  slo: readonly SloBound[];
  /** p99 schedule lag beyond which the cell is invalid, ms. */
  maxScheduleLagMs: number;
  /** p99 client event-loop delay beyond which the cell is invalid, ms. */
  maxClientLagMs: number;
  /** Client event-loop utilization at or beyond which the cell is invalid (default MAX_CLIENT_UTILIZATION). */
  maxClientUtilization?: number;
  /** Sharded runs: how late the cell may start after its scheduled start before it is invalid, ms (unset: no bound). */
  maxStartOffsetMs?: number;
}

/**
 * Another process's part of a cell (a shard's), whose records were added to this accumulator: what
 * only that process could see of itself, and its own verdict on it (metrics/client-health.ts).
 */
export interface ProcessPart {
  /** How the reasons name it: `shard 1/3`. */
  label: string;
  /** Its client_loop_delay histogram. */
  loopDelay: Histogram;
  /** Its reading thread's utilization, 0–1, and the time it was watched over, ms. */
  utilization?: number;
  monitoredMs?: number;
  /** How late it started the cell, ms. */
  startOffsetMs?: number;
  /** Why its part was invalid, if it was. */
  invalid?: string;
}

export class CellAccumulator {
  private readonly histograms = Object.fromEntries(METRIC_NAMES.map((name) => [name, createHistogram()])) as Record<
    MetricName,
    Histogram
  >;
  private requests = 0;
  private ok = 0;
  private interrupted = 0;
  private dropped = 0;
  private resends = 0;
  private good = 0;
  /** Requests sent later than maxScheduleLagMs after they were due. */
  private late = 0;
  /** Every request of the cell, warm-up included, as the throughput window sees it. */
  private readonly windowRequests: WindowRequest[] = [];
  /** Merged repeats: each repeat's window and what it served, summed (throughput over the time each ran, not the gaps between). */
  private mergedCounts: WindowCounts | undefined;
  /** Set on merged repeats: the reasons their parts were short. */
  private shortParts: string[] | undefined;
  /** Set on merged repeats and on a cell made of processes' parts: why parts were invalid (the cell is invalid when one of them was). */
  private invalidParts: string[] | undefined;
  private readonly errorsByClass: Partial<Record<ErrorClass, number>> = {};
  private readonly errorExamples: Partial<Record<ErrorClass, ErrorExample>> = {};
  private readonly tokenSources: Partial<Record<TokenSource, number>> = {};
  private mismatches = 0;
  private mismatchSum = 0;
  /** Successful requests whose per-chunk counts are approximate, and those whose server counts failed validation. */
  private approximate = 0;
  private serverCountsRejected = 0;
  private tokenizer = '';
  private readonly serverTtft: number[] = [];
  private readonly ttftMinusServer: number[] = [];
  private readonly serverE2e: number[] = [];
  private readonly e2eMinusServer: number[] = [];
  /** Time the client's event loop was busy, and the time it was watched over, ms (utilization = their ratio). */
  private clientActiveMs = 0;
  private clientElapsedMs = 0;
  /** How late the cell started after its scheduled start (a shard's), ms. */
  private startOffsetMs: number | undefined;
  private readonly turns = new TurnAccumulator();
  /** The cell's timeline, binned as records come (bounded: bins, not requests). */
  private readonly timelineBins = new TimelineBins();
  /** Unix time minus the records' edge clock, ms: puts the throughput window on the timeline. */
  private unixOffsetMs: number | undefined;

  constructor(
    private readonly key: CellKey,
    private readonly options: CellOptions = { slo: [], maxScheduleLagMs: Infinity, maxClientLagMs: Infinity },
  ) {}

  /** What the client-health monitor saw over the cell's load: its delay samples and its utilization. */
  addClientHealth(health: ClientHealth): void {
    for (const sample of health.loopDelay) recordValue(this.histograms.client_loop_delay, 'client_loop_delay', sample.value, sample.count);
    this.clientActiveMs += health.utilization * health.elapsedMs;
    this.clientElapsedMs += health.elapsedMs;
  }

  /** A shard's cell started `offsetMs` after its scheduled start: reported, and judged against maxStartOffsetMs. */
  recordStartOffset(offsetMs: number): void {
    this.startOffsetMs = Math.max(this.startOffsetMs ?? 0, offsetMs);
  }

  /**
   * A process's part of the cell (a shard's), its records added with `add`: its client health
   * added in, and its own verdict kept, named. Client health is judged per process (each thread
   * reads its own sockets), so a cell made of parts is invalid when one of its parts was.
   */
  addPart(part: ProcessPart): void {
    this.histograms.client_loop_delay.add(part.loopDelay);
    if (part.utilization !== undefined && part.monitoredMs !== undefined) {
      this.clientActiveMs += part.utilization * part.monitoredMs;
      this.clientElapsedMs += part.monitoredMs;
    }
    if (part.startOffsetMs !== undefined) this.recordStartOffset(part.startOffsetMs);
    this.invalidParts ??= [];
    if (part.invalid !== undefined) this.invalidParts.push(`${part.label}: ${part.invalid}`);
  }

  add(record: RequestRecord, edges: WindowEdges): void {
    this.windowRequests.push(windowRequestOf(record, edges));
    this.timelineBins.add(record);
    if (this.unixOffsetMs === undefined && record.sentAtUnixMs !== undefined) this.unixOffsetMs = record.sentAtUnixMs - edges.t0;
    if (record.warmup) return;
    this.requests++;
    if (record.resent) this.resends++;
    this.tokenizer = record.tokenizer;
    if (record.error?.class === 'interrupted') {
      // Cut short by Ctrl-C: neither a server failure nor part of the throughput window.
      this.interrupted++;
      return;
    }
    if (record.outcome === 'dropped') {
      // Never sent: no latency to record, but the load it stood for was not served.
      this.dropped++;
      return;
    }
    if (record.metSlo) this.good++;
    this.turns.add(record);
    // Every distribution comes from the catalog; errors, the window and the server's timings are not distributions.
    this.recordSamples(record, 'sent');
    if (record.metrics.scheduleLagMs > this.options.maxScheduleLagMs) this.late++;
    if (record.outcome === 'error') {
      const errorClass = record.error?.class ?? 'bad_response';
      this.errorsByClass[errorClass] = (this.errorsByClass[errorClass] ?? 0) + 1;
      this.errorExamples[errorClass] ??= {
        message: record.error?.message ?? '',
        ...(record.error?.status !== undefined ? { status: record.error.status } : {}),
      };
      return;
    }
    this.ok++;
    this.tokenSources[record.tokenSource] = (this.tokenSources[record.tokenSource] ?? 0) + 1;
    if (record.usageMismatch !== undefined) {
      this.mismatches++;
      this.mismatchSum += record.usageMismatch;
    }
    if (record.approximate) this.approximate++;
    if (record.tokenSourceReason !== undefined) this.serverCountsRejected++;
    const m = record.metrics;
    this.recordSamples(record, 'ok');
    // Differences can be negative (the server may count time the client cannot see), so plain lists, not HDR.
    if (record.serverTtftMs !== undefined && m.ttftMs !== undefined) {
      this.serverTtft.push(record.serverTtftMs);
      this.ttftMinusServer.push(m.ttftMs - record.serverTtftMs);
    }
    if (record.serverE2eMs !== undefined) {
      this.serverE2e.push(record.serverE2eMs);
      this.e2eMinusServer.push(m.e2eMs - record.serverE2eMs);
    }
  }

  /** Adds the request's samples to the histogram of every metric the catalog records for such requests. */
  private recordSamples(record: RequestRecord, recordedFor: HistogramMetric['recordedFor']): void {
    for (const metric of HISTOGRAM_METRICS) {
      if (metric.recordedFor !== recordedFor) continue;
      for (const sample of samplesOf(metric, record)) recordValue(this.histograms[metric.name], metric.name, sample.value, sample.count);
    }
  }

  /**
   * The repeats of one cell as one accumulator: every count and list added,
   * histograms merged exactly (HdrHistogram adds losslessly), windows summed.
   */
  static merge(key: CellKey, parts: readonly CellAccumulator[], options: CellOptions): CellAccumulator {
    const merged = new CellAccumulator(key, options);
    merged.invalidParts = [];
    merged.shortParts = [];
    merged.mergedCounts = { windowMs: 0, outputTokens: 0, okRequests: 0, goodRequests: 0 };
    for (const part of parts) {
      for (const name of METRIC_NAMES) merged.histograms[name].add(part.histograms[name]);
      merged.requests += part.requests;
      merged.ok += part.ok;
      merged.interrupted += part.interrupted;
      merged.dropped += part.dropped;
      merged.resends += part.resends;
      merged.good += part.good;
      merged.late += part.late;
      const { counts, short } = part.windowOutcome();
      merged.mergedCounts.windowMs += counts.windowMs;
      merged.mergedCounts.outputTokens += counts.outputTokens;
      merged.mergedCounts.okRequests += counts.okRequests;
      merged.mergedCounts.goodRequests += counts.goodRequests;
      merged.mismatches += part.mismatches;
      merged.mismatchSum += part.mismatchSum;
      merged.approximate += part.approximate;
      merged.serverCountsRejected += part.serverCountsRejected;
      merged.tokenizer = part.tokenizer;
      addCounts(merged.errorsByClass, part.errorsByClass);
      for (const [name, example] of Object.entries(part.errorExamples) as [ErrorClass, ErrorExample][]) merged.errorExamples[name] ??= example;
      addCounts(merged.tokenSources, part.tokenSources);
      // Not push(...values): spread arguments overflow the stack past ~10⁵ items (a large cell's requests).
      for (const key of ['serverTtft', 'ttftMinusServer', 'serverE2e', 'e2eMinusServer'] as const) {
        for (const value of part[key]) merged[key].push(value);
      }
      merged.turns.addAll(part.turns);
      merged.clientActiveMs += part.clientActiveMs;
      merged.clientElapsedMs += part.clientElapsedMs;
      if (part.startOffsetMs !== undefined) merged.recordStartOffset(part.startOffsetMs);
      const invalid = part.invalidReason(part.causes(part.statsOfAll()));
      if (invalid) merged.invalidParts.push(`repeat ${part.key.repeat}: ${invalid}`);
      if (short) merged.shortParts.push(`repeat ${part.key.repeat}: ${short}`);
    }
    return merged;
  }

  /**
   * What was served inside the steady-state window, and why the cell's throughput is mostly ramp if
   * it is (metrics/window.ts), from one window; merged repeats: their parts' sums and reasons.
   */
  private windowOutcome(e2eP50Ms = statsOf(this.histograms.e2e, 'e2e')?.p50): { counts: WindowCounts; short: string | undefined; window?: ThroughputWindow } {
    if (this.mergedCounts) return { counts: this.mergedCounts, short: this.shortParts?.length ? this.shortParts.join('; ') : undefined };
    const { kind, value: slots } = this.key.load;
    const window = steadyStateWindow(kind, this.windowRequests);
    return {
      counts: countInWindow(window, this.windowRequests),
      short: shortWindowReason({ kind, slots, measured: this.requests, window, e2eP50Ms }),
      ...(window ? { window } : {}),
    };
  }

  /** The cell's timeline, its throughput window put on Unix time; none for merged repeats (their parts ran at different times). */
  private timeline(window: ThroughputWindow | undefined): CellTimeline | undefined {
    if (this.mergedCounts) return undefined;
    const offset = this.unixOffsetMs;
    return this.timelineBins.timeline(window && offset !== undefined ? { startMs: window.startMs + offset, endMs: window.endMs + offset } : undefined);
  }

  private clientUtilization(): number | undefined {
    return this.clientElapsedMs > 0 ? this.clientActiveMs / this.clientElapsedMs : undefined;
  }

  /** What made the cell invalid, judged on its own numbers (metrics/client-health.ts); a cell made of parts has its parts' verdicts instead. */
  private causes(stats: Partial<Record<MetricName, Stats>>): ClientCause[] {
    const utilization = this.clientUtilization();
    return clientCauses(
      {
        lateRequests: this.late,
        ...(stats.schedule_lag ? { scheduleLagP99Ms: stats.schedule_lag.p99 } : {}),
        ...(stats.client_loop_delay ? { loopDelayP99Ms: stats.client_loop_delay.p99 } : {}),
        ...(this.clientElapsedMs > 0 ? { monitoredMs: this.clientElapsedMs } : {}),
        ...(utilization !== undefined ? { utilization } : {}),
        ...(this.startOffsetMs !== undefined ? { startOffsetMs: this.startOffsetMs } : {}),
      },
      this.options,
    );
  }

  /** Why the cell is invalid, if it is: its causes; merged repeats are invalid when one of their parts was. */
  private invalidReason(causes: readonly ClientCause[]): string | undefined {
    if (this.invalidParts) return this.invalidParts.length > 0 ? this.invalidParts.join('; ') : undefined;
    return describeCauses(causes);
  }

  summary(): CellSummary {
    const stats = this.statsOfAll();
    const { counts, short, window } = this.windowOutcome(stats.e2e?.p50);
    const timeline = this.timeline(window);
    const windowS = counts.windowMs / 1000;
    const errors = this.requests - this.ok - this.interrupted - this.dropped;
    const completed = this.requests - this.interrupted - this.dropped;
    const { slo } = this.options;
    const causes = this.causes(stats);
    const invalid = this.invalidReason(causes);
    const utilization = this.clientUtilization();
    const byTurn = this.turns.summary();
    const hasSlo = slo.length > 0;
    // For the SLO, an arrival dropped at the in-flight cap is load the deployment did not take: it counts as failed.
    const sloErrorRate = completed + this.dropped > 0 ? (errors + this.dropped) / (completed + this.dropped) : 0;
    const facts = {
      errorRate: sloErrorRate,
      dropped: this.dropped,
      // A merged cell invalid only through a part (a repeat, a shard) has no cause of its own: it still fails its SLO.
      ...(invalid ? { invalidChecks: causes.length > 0 ? causes : [{ check: 'invalid parts', measured: this.invalidParts?.length ?? 1, bound: 0 }] } : {}),
    };
    return {
      ...this.key,
      requests: this.requests,
      ok: this.ok,
      errors,
      interrupted: this.interrupted,
      dropped: this.dropped,
      resends: this.resends,
      ...(hasSlo
        ? {
            goodRequests: this.good,
            goodputPerS: windowS > 0 ? counts.goodRequests / windowS : 0,
            slo: cellSloVerdict(slo, this.histograms, facts),
          }
        : {}),
      ...(invalid ? { invalid } : {}),
      ...(short ? { short } : {}),
      ...(utilization !== undefined ? { clientUtilization: utilization, clientMonitoredMs: this.clientElapsedMs } : {}),
      ...(this.startOffsetMs !== undefined ? { startOffsetMs: this.startOffsetMs } : {}),
      errorsByClass: { ...this.errorsByClass },
      errorExamples: { ...this.errorExamples },
      errorRate: completed > 0 ? errors / completed : 0,
      windowS,
      outputTokensPerS: windowS > 0 ? counts.outputTokens / windowS : 0,
      requestsPerS: windowS > 0 ? counts.okRequests / windowS : 0,
      stats,
      histograms: this.histograms,
      tokenSources: { ...this.tokenSources },
      tokenizer: this.tokenizer,
      usageMismatchRate: this.ok > 0 ? this.mismatches / this.ok : 0,
      usageMismatchMean: this.mismatches > 0 ? this.mismatchSum / this.mismatches : 0,
      approximateRate: this.ok > 0 ? this.approximate / this.ok : 0,
      serverCountsRejected: this.serverCountsRejected,
      ...(byTurn ? { byTurn } : {}),
      ...this.serverTimingsSummary(),
      ...(timeline ? { timeline } : {}),
    };
  }

  private statsOfAll(): Partial<Record<MetricName, Stats>> {
    const stats: Partial<Record<MetricName, Stats>> = {};
    for (const name of METRIC_NAMES) {
      const s = statsOf(this.histograms[name], name);
      if (s) stats[name] = s;
    }
    return stats;
  }

  private serverTimingsSummary(): Pick<CellSummary, 'serverTimings'> {
    const requests = Math.max(this.serverTtft.length, this.serverE2e.length);
    if (requests === 0) return {};
    const timings: NonNullable<CellSummary['serverTimings']> = { requests };
    const put = (key: Exclude<keyof typeof timings, 'requests'>, values: number[]) => {
      const value = median(values);
      if (value !== undefined) timings[key] = value;
    };
    put('serverTtftP50Ms', this.serverTtft);
    put('ttftMinusServerP50Ms', this.ttftMinusServer);
    put('serverE2eP50Ms', this.serverE2e);
    put('e2eMinusServerP50Ms', this.e2eMinusServer);
    return { serverTimings: timings };
  }
}

/** A record as the throughput window sees it: its raw times, and when each of its tokens arrived. */
function windowRequestOf(record: RequestRecord, edges: WindowEdges): WindowRequest {
  const m = record.metrics;
  const tokens = tokenArrivals(m, (chunkMs) => edges.t0 + chunkMs, edges.tEnd);
  const request: WindowRequest = {
    warmup: record.warmup,
    sent: record.outcome !== 'dropped',
    ok: record.outcome === 'ok',
    ts: edges.ts ?? edges.t0,
    t0: edges.t0,
    tEnd: edges.tEnd,
    tokens,
  };
  if (record.metSlo !== undefined) request.metSlo = record.metSlo;
  if (record.slot !== undefined) request.slot = record.slot;
  return request;
}

/** The median of a list; undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The headline numbers whose run-to-run spread `--repeat` reports: a statistic of a distribution, or a cell value. */
export const SPREAD_SOURCES = {
  ttft_p50: { metric: 'ttft', stat: 'p50' },
  ttft_p95: { metric: 'ttft', stat: 'p95' },
  tpot_p50: { metric: 'tpot', stat: 'p50' },
  tpot_p95: { metric: 'tpot', stat: 'p95' },
  e2e_p95: { metric: 'e2e', stat: 'p95' },
  output_tokens_per_s: { cellValue: 'output_tokens_per_s' },
} as const satisfies Record<string, { metric: MetricName; stat: keyof Stats } | { cellValue: CellValueName }>;
export type SpreadMetric = keyof typeof SPREAD_SOURCES;
export const SPREAD_METRICS = Object.keys(SPREAD_SOURCES) as SpreadMetric[];

/** Across repeats: the lowest and highest value, and the coefficient of variation (stdev / mean). */
export interface Spread {
  min: number;
  max: number;
  cv: number;
}

function headline(cell: CellSummary, metric: SpreadMetric): number | undefined {
  const source: (typeof SPREAD_SOURCES)[SpreadMetric] = SPREAD_SOURCES[metric];
  return 'cellValue' in source ? CELL_VALUES_BY_NAME[source.cellValue].value(cell) : cell.stats[source.metric]?.[source.stat];
}

/**
 * The K repeats of a cell as one (CellAccumulator.merge), with the spread of
 * each headline number across the repeats.
 */
export function mergeRepeats(parts: readonly { accumulator: CellAccumulator; summary: CellSummary }[], options: CellOptions): CellSummary {
  const key: CellKey = { model: parts[0]!.summary.model, load: parts[0]!.summary.load };
  const merged = CellAccumulator.merge(key, parts.map((part) => part.accumulator), options).summary();
  const spread = Object.fromEntries(
    SPREAD_METRICS.map((metric) => {
      const values = parts.map(({ summary }) => headline(summary, metric)).filter((v): v is number => v !== undefined);
      const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
      const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
      return [metric, { min: Math.min(...values), max: Math.max(...values), cv: mean > 0 ? sd / mean : 0 }];
    }),
  ) as Record<SpreadMetric, Spread>;
  return { ...merged, repeats: { count: parts.length, spread } };
}

/** Adds counts by name into `into`. */
function addCounts<K extends string>(into: Partial<Record<K, number>>, from: Partial<Record<K, number>>): void {
  for (const [name, n] of Object.entries(from) as [K, number | undefined][]) into[name] = (into[name] ?? 0) + (n ?? 0);
}
