/**
 * The whole pipeline in one readable place; read this file first.
 *
 *   scenario → load → token attribution → accumulate → check → outputs
 *
 * 1. A session prepares what every cell shares: each model's tokenizer and
 *    prompts (load/workload.ts) and the client that sends requests.
 * 2. A cell's load loop (load/cell-load.ts: closed or open loop) sends
 *    requests and yields each one as it finishes; it aggregates nothing.
 * 3. When the cell's load is over, each finished request's tokens are
 *    counted (metrics/request-record.ts), off the hot path, and the record
 *    goes into the cell's accumulator (metrics/cell-summary.ts).
 * 4. Everything that happens is an event on one stream (`RunEvent`): progress
 *    while the load runs, each record, each cell's summary, capacity steps,
 *    sweep plans. The `run`, `capacity` and `sweep` commands and the library
 *    API consume it; nothing calls back from here into the CLI.
 * 5. `scenarioEvents`, `capacityEvents` and `sweepEvents` are those streams;
 *    `runScenario`, `runCapacity` and `runSweep` run them to the end. `collectRun` gathers a stream into a `RunResult`; `judgeThresholds` and
 *    `renderResultFiles` turn that into verdicts and file contents, which
 *    the caller writes.
 */
import { ChatClient, type ChatClientOptions } from './client/chat-client.js';
import { renderJunit } from './check/junit.js';
import { renderThresholdLines, renderThresholdMarkdown, thresholdCases } from './check/render.js';
import { evaluateThresholds, type ThresholdResult } from './check/thresholds.js';
import { capacitySearch, capacityVerdict, type LoadVerdict } from './load/capacity.js';
import { WHOLE, type FinishedRequest, type SendRequest, type Share } from './load/cell-budget.js';
import { cellLoad, cellSize, loadLevelOf, timedSpanMs, type CellLoad } from './load/cell-load.js';
import { startClientHealthMonitor, type ClientHealthMonitorFactory } from './load/client-health.js';
import { defaultWorkerCount, LoadWorkers } from './load/load-workers.js';
import { progressOf, type Progress } from './load/progress.js';
import { probeProblem, sweepRates, SYNCHRONOUS_LOAD, throughputConcurrency, throughputLoad } from './load/sweep.js';
import { cellStartUnixMs, type ShardSchedule } from './load/shard-schedule.js';
import { prepareWorkloads, requestParams, type ModelWorkload } from './load/workload.js';
import { isSessionWorkload, sessionsRepeated } from './load/session-loop.js';
import { CellAccumulator, mergeRepeats, type CellOptions, type CellSummary } from './metrics/cell-summary.js';
import type { ClientHealth } from './metrics/client-health.js';
import { droppedRecord, toRequestRecord, uncountedRecord } from './metrics/request-record.js';
import { requestMeetsSlo } from './metrics/slo.js';
import { renderHistogramsCsv, renderSummaryCsv } from './report/csv.js';
import { renderReportHtml } from './report/html.js';
import { renderHistogramsJson, renderRunJson, renderSummaryJson, type MergedFolder, type RunInfo } from './report/json.js';
import { provenanceOf, provenanceSourceOf, repeatCount } from './report/provenance.js';
import { ScenarioError } from './scenario/load.js';
import { providerWarnings } from './scenario/providers.js';
import type { CapacityOutcome, CellKey, LoadLevel, RequestRecord, Scenario, SweepOutcome } from './types.js';
import { sleepUntil, systemClock, type Clock } from './util/clock.js';

export type { Progress };

/** What sends one request and records what came back: a ChatClient, or a test's simulated server. */
export type RequestClient = Pick<ChatClient, 'send' | 'close'>;

export interface PipelineOptions {
  /** The URL to send to; `builtin` must already be replaced by the simulator's address. */
  baseURL: string;
  /** Values scrubbed from every record beyond the scenario's key and headers: the environment's secrets (util/secrets.ts). */
  secrets?: readonly string[];
  /** Aborting it stops the run: nothing new is sent, requests in flight end as `interrupted`. */
  interrupt?: AbortSignal;
  /** The time the loops, the schedule and the progress run on (default: the system clock). */
  clock?: Clock;
  /** Run each cell this many times (default 1); the repeats are kept apart and also merged, with their spread. */
  repeat?: number;
  /**
   * Sends the requests (default: a ChatClient for the scenario's target, on `clock`). One passed
   * here stays the caller's to close, and must read the same clock, or schedule lag is wrong.
   */
  client?: RequestClient;
  /**
   * Watches the client's own health over each cell's load (load/client-health.ts). Default: the
   * real monitor of this thread's event loop, on the system clock; on an injected `clock` none,
   * unless one is passed here (the real event loop does not run on simulated time).
   */
  clientHealth?: ClientHealthMonitorFactory;
  /**
   * Maps the clock onto Unix time for each record's wall-clock send time: the clock read `clockMs`
   * at Unix time `unixMs` (default: `clock.now()` and `Date.now()`, read once as the run starts).
   */
  wallClockOrigin?: WallClockOrigin;
  /** What `tokenizer: server` asks the server's tokenize endpoint with, after each cell (default: the global fetch). */
  tokenizeFetch?: typeof fetch;
  /**
   * `run --shard i/N`: send only this shard's share of every cell, each cell started at its
   * scheduled wall-clock time (load/shard-schedule.ts). The scenario's cells must be time-bounded.
   */
  shard?: ShardSchedule;
  /**
   * Threads that send and read the load (`--workers`; wins over the scenario's `load.workers`; default one per
   * available core minus one, at least one). 1 sends from this thread; more split every cell over worker
   * threads (load/load-workers.ts). An injected `client` or `clock` lives on this thread: with either, 1.
   */
  workers?: number;
}

/** One instant read on both clocks: the run's clock (ms) and Unix time (ms). */
export interface WallClockOrigin {
  clockMs: number;
  unixMs: number;
}

/** Everything a run reports, in the order it happens. */
export type RunEvent =
  /** Something the user should know about the whole run (a fallback tokenizer, a parameter the provider ignores). */
  | { type: 'warning'; message: string }
  /** A request finished (before its tokens are counted): for the live view. */
  | { type: 'progress'; progress: Progress }
  /** A request with its tokens counted, warm-up and dropped ones included: one line of requests.jsonl. */
  | { type: 'record'; record: RequestRecord }
  /** A cell's summary; with `repeat > 1`, each repeat's, then (after every cell ran) the merged ones. */
  | { type: 'cell'; cell: CellSummary }
  /** `capacity`: one load tried, and its verdict. */
  | { type: 'capacity-step'; model: string; load: number; verdict: LoadVerdict }
  /** `capacity`: what the search found for one model. */
  | { type: 'capacity'; outcome: CapacityOutcome }
  /** `sweep`: the rates planned for one model from its two probes (requests/s), before they run. */
  | { type: 'sweep-plan'; model: string; synchronousRps: number; throughputRps: number; rates: number[] }
  /** `sweep`: what one model's sweep measured and ran (after its last cell, or where it stopped). */
  | { type: 'sweep'; outcome: SweepOutcome }
  /** The run is over; `completed` is false when it was interrupted. */
  | { type: 'end'; completed: boolean };

/** A run gathered from its events. */
export interface RunResult {
  cells: CellSummary[];
  /** False when the run was interrupted. */
  completed: boolean;
  warnings: string[];
  /** `capacity` only: per model, what the search found. */
  capacity?: CapacityOutcome[];
  /** `sweep` only: per model, its probes' rates and the rates planned from them. */
  sweep?: SweepOutcome[];
}

/** What every cell of a run shares. */
interface Session {
  scenario: Scenario;
  clock: Clock;
  /** Unix time of an instant on `clock`, ms. */
  unixMsAt: (clockMs: number) => number;
  /** The instant on `clock` of a Unix time, ms. */
  clockMsAt: (unixMs: number) => number;
  shard: ShardSchedule | undefined;
  client: RequestClient;
  /** Closes the client when the run ends, if the session made it, and stops the workers. */
  close: () => Promise<void>;
  workloads: ModelWorkload[];
  warnings: string[];
  interrupt: AbortSignal | undefined;
  /** Cells started so far (numbers the cells and their request ids). */
  started: number;
  /** Cells the run will have, when known in advance (a sweep, not a search). */
  cells?: number;
  /** Starts the client-health monitor of a cell's load; undefined: none. */
  clientHealth: ClientHealthMonitorFactory | undefined;
  /** The worker threads that send the load, when there is more than one; undefined: this thread sends. */
  workers: LoadWorkers | undefined;
  /** The models (by index) already warned that their sessions repeat a conversation. */
  warnedRepeatedSessions: Set<number>;
}

/** Runs the scenario's sweep: every model at every level, in order, each `repeat` times. */
export async function* scenarioEvents(scenario: Scenario, options: PipelineOptions): AsyncGenerator<RunEvent> {
  const repeat = options.repeat ?? 1;
  const session = await openSession(scenario, options);
  session.cells = scenario.models.length * scenario.load.levels.length * repeat;
  yield* warningsOf(session);
  const merged: CellSummary[] = [];
  try {
    for (const modelIndex of scenario.models.keys()) {
      for (const value of scenario.load.levels) {
        const parts: { accumulator: CellAccumulator; summary: CellSummary }[] = [];
        for (let r = 1; r <= repeat && !interrupted(session); r++) {
          parts.push(yield* measureCell(session, modelIndex, loadLevelOf(scenario.load, value), repeat > 1 ? r : undefined));
        }
        if (repeat > 1 && parts.length > 0) merged.push(mergeRepeats(parts, cellOptions(scenario)));
      }
    }
  } finally {
    await session.close();
  }
  // Each cell's repeats first, then the merged cells (repeat undefined): what thresholds and the report judge.
  for (const cell of merged) yield { type: 'cell', cell };
  yield { type: 'end', completed: !interrupted(session) };
}

/**
 * `capacity` and `sweep` choose their loads themselves: a scenario whose load is already chosen (a
 * rate ramp, a replayed trace) is refused, naming the field, before anything is sent; and a sweep's
 * rates are open-loop cells, which multi-turn sessions (a closed loop) cannot run.
 */
export function refuseChosenLoad(scenario: Scenario, command: 'capacity' | 'sweep'): void {
  const chosen = scenario.load.ramp ? ['rate', 'a rate ramp'] : scenario.load.trace ? ['trace', 'a replayed trace'] : undefined;
  const problems = chosen
    ? [`${scenario.file}: load.${chosen[0]}: ${command} runs steady loads it picks itself, not ${chosen[1]}; use a single rate or concurrency`]
    : [];
  if (command === 'sweep' && hasSessions(scenario)) {
    problems.push(
      `${scenario.file}: prompts.turns: sweep's rates are open-loop cells, and multi-turn sessions run in a closed loop; run the session scenario at concurrency levels instead`,
    );
  }
  if (problems.length > 0) throw new ScenarioError(scenario.file, problems);
}

/** `tokenmeter capacity`: for each model, the highest load that meets the scenario's SLO (load/capacity.ts). */
export async function* capacityEvents(scenario: Scenario, options: PipelineOptions): AsyncGenerator<RunEvent> {
  refuseChosenLoad(scenario, 'capacity');
  const session = await openSession(scenario, options);
  yield* warningsOf(session);
  try {
    for (const [modelIndex, model] of scenario.models.entries()) {
      if (interrupted(session)) break;
      const search = capacitySearch(model.name, scenario.load.kind, scenario.capacity);
      let step = search.next();
      while (!step.done) {
        const load = step.value;
        const { summary } = yield* measureCell(session, modelIndex, loadLevelOf(scenario.load, load));
        const verdict = interrupted(session) ? undefined : capacityVerdict(summary);
        if (verdict) yield { type: 'capacity-step', model: model.name, load, verdict };
        step = search.next(verdict);
      }
      yield { type: 'capacity', outcome: step.value };
    }
  } finally {
    await session.close();
  }
  yield { type: 'end', completed: !interrupted(session) };
}

/**
 * `tokenmeter sweep` (load/sweep.ts): for each model, a synchronous probe (c=1), a throughput probe
 * (c=sweep.maxConcurrency), then sweep.rates open-loop rates evenly spaced between the request rates
 * the two measured. The scenario's load levels are not run; its bounds and warm-up apply to every cell.
 * A probe that measured no request rate stops that model's sweep, with a warning saying why.
 */
export async function* sweepEvents(scenario: Scenario, options: PipelineOptions): AsyncGenerator<RunEvent> {
  refuseChosenLoad(scenario, 'sweep');
  const session = await openSession(scenario, options);
  const maxConcurrency = throughputConcurrency(scenario);
  yield* warningsOf(session);
  try {
    for (const [modelIndex, model] of scenario.models.entries()) {
      if (interrupted(session)) break;
      const outcome: SweepOutcome = { model: model.name, maxConcurrency, rates: [] };
      const stop = (reason: string): RunEvent => {
        outcome.stopped = reason;
        return { type: 'warning', message: `sweep of ${model.name}: ${reason}` };
      };
      const probe = async function* (which: 'synchronous' | 'throughput', load: LoadLevel): AsyncGenerator<RunEvent, number | undefined> {
        const { summary } = yield* measureCell(session, modelIndex, load);
        if (interrupted(session)) return undefined;
        const problem = probeProblem(which, summary);
        if (problem) {
          yield stop(problem);
          return undefined;
        }
        // Still a bound (the client's pace is what it reached), but the rates planned from it must say so.
        if (summary.invalid) yield { type: 'warning', message: `sweep of ${model.name}: the ${which} probe (c=${load.value}) is invalid (${summary.invalid}): the rates planned from its request rate are the client's, not the server's` };
        // A short probe's rate is mostly its ramp up and down, not the steady state: the rates are planned from it all the same.
        else if (summary.short) yield { type: 'warning', message: `sweep of ${model.name}: the ${which} probe (c=${load.value}) is short (${summary.short}): the rates are planned from a request rate that may not be its steady one; give the cells more requests or a longer duration` };
        return summary.requestsPerS;
      };
      const synchronousRps = yield* probe('synchronous', SYNCHRONOUS_LOAD);
      if (synchronousRps !== undefined) outcome.synchronousRps = synchronousRps;
      const throughputRps = synchronousRps === undefined ? undefined : yield* probe('throughput', throughputLoad(maxConcurrency));
      if (throughputRps !== undefined) outcome.throughputRps = throughputRps;
      if (synchronousRps !== undefined && throughputRps !== undefined) {
        const plan = sweepRates(synchronousRps, throughputRps, scenario.sweep.rates);
        outcome.rates = plan.rates;
        if (plan.reason) yield stop(plan.reason);
        else yield { type: 'sweep-plan', model: model.name, synchronousRps, throughputRps, rates: plan.rates };
        for (const rate of plan.rates) {
          if (interrupted(session)) break;
          yield* measureCell(session, modelIndex, { kind: 'rate', value: rate });
        }
      }
      if (interrupted(session)) outcome.interrupted = true;
      yield { type: 'sweep', outcome };
    }
  } finally {
    await session.close();
  }
  yield { type: 'end', completed: !interrupted(session) };
}

/** Runs the scenario's sweep to its end: its result, every cell's summary included (the events gathered by collectRun). */
export const runScenario = (scenario: Scenario, options: PipelineOptions): Promise<RunResult> => collectRun(scenarioEvents(scenario, options));

/** `tokenmeter capacity` to its end: its result, with each model's capacity. */
export const runCapacity = (scenario: Scenario, options: PipelineOptions): Promise<RunResult> => collectRun(capacityEvents(scenario, options));

/** `tokenmeter sweep` to its end: its result, with each model's probes and rates. */
export const runSweep = (scenario: Scenario, options: PipelineOptions): Promise<RunResult> => collectRun(sweepEvents(scenario, options));

/** Gathers a run's events into its result; `onEvent` sees each event first (to stream records to a file, say). */
export async function collectRun(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => void | Promise<void>): Promise<RunResult> {
  const result: RunResult = { cells: [], completed: false, warnings: [] };
  for await (const event of events) {
    await onEvent?.(event);
    if (event.type === 'warning') result.warnings.push(event.message);
    else if (event.type === 'cell') result.cells.push(event.cell);
    else if (event.type === 'capacity') (result.capacity ??= []).push(event.outcome);
    else if (event.type === 'sweep') (result.sweep ??= []).push(event.outcome);
    else if (event.type === 'end') result.completed = event.completed;
  }
  return result;
}

/** The client a scenario's target asks for: its API, key, headers and connection reuse, sending to `baseURL`. */
export function scenarioClient(scenario: Scenario, baseURL: string, extra: Pick<ChatClientOptions, 'clock' | 'secrets'> = {}): ChatClient {
  const { target } = scenario;
  return new ChatClient({
    baseURL,
    api: target.api,
    ...(target.apiKey !== undefined ? { apiKey: target.apiKey } : {}),
    headers: target.headers,
    newConnectionPerRequest: target.newConnectionPerRequest,
    ...extra,
  });
}

async function openSession(scenario: Scenario, options: PipelineOptions): Promise<Session> {
  const warnings = providerWarnings(scenario);
  const clock = options.clock ?? systemClock;
  // Read once: Date.now() may step (NTP) during a run, the monotonic clock does not.
  const origin = options.wallClockOrigin ?? { clockMs: clock.now(), unixMs: Date.now() };
  const unixMsAt = (clockMs: number): number => origin.unixMs + (clockMs - origin.clockMs);
  const clockMsAt = (unixMs: number): number => origin.clockMs + (unixMs - origin.unixMs);
  const workloads = await prepareWorkloads(scenario, warnings, {
    baseURL: options.baseURL,
    ...(options.tokenizeFetch ? { fetch: options.tokenizeFetch } : {}),
  });
  const client = options.client ?? scenarioClient(scenario, options.baseURL, { clock, ...(options.secrets ? { secrets: options.secrets } : {}) });
  const clientHealth = options.clientHealth ?? (options.clock ? undefined : startClientHealthMonitor);
  const count = await workerCount(scenario, options);
  const workers =
    count > 1
      ? await LoadWorkers.start({
          count,
          baseURL: options.baseURL,
          target: scenario.target,
          ...(options.secrets ? { secrets: options.secrets } : {}),
          load: scenario.load,
          seed: scenario.seed,
          ...(options.interrupt ? { interrupt: options.interrupt } : {}),
        })
      : undefined;
  const close = async (): Promise<void> => {
    if (!options.client) client.close();
    await workers?.close();
  };
  return {
    scenario,
    clock,
    unixMsAt,
    clockMsAt,
    shard: options.shard,
    client,
    close,
    workloads,
    warnings,
    interrupt: options.interrupt,
    started: 0,
    warnedRepeatedSessions: new Set(),
    clientHealth,
    workers,
  };
}

/**
 * How many threads send the load: `--workers`, else the scenario's, else one per core but one; 1 with an injected
 * client or clock, and for multi-turn sessions (each turn's history is the answer this thread read).
 */
export async function workerCount(scenario: Scenario, options: Pick<PipelineOptions, 'workers' | 'client' | 'clock'>): Promise<number> {
  const asked = options.workers ?? scenario.load.workers;
  if (options.client || options.clock) {
    if (asked !== undefined && asked > 1) throw new Error(`workers: ${asked} needs the real client and clock; this run injects its own, which live on one thread`);
    return 1;
  }
  if (hasSessions(scenario)) {
    if (asked !== undefined && asked > 1) throw new Error(`workers: ${asked}: multi-turn sessions run on one thread`);
    return 1;
  }
  return asked ?? (await defaultWorkerCount());
}

/** Whether the scenario's prompts are multi-turn sessions. */
export const hasSessions = (scenario: Scenario): boolean => !Array.isArray(scenario.prompts) && 'turns' in scenario.prompts && scenario.prompts.turns !== undefined;

function* warningsOf(session: Session): Generator<RunEvent> {
  for (const message of session.warnings) yield { type: 'warning', message };
}

const interrupted = (session: Session): boolean => session.interrupt?.aborted === true;

/** The bounds a cell of the scenario is judged by (`merge` judges merged cells by the same). */
export const cellOptions = (scenario: Scenario): CellOptions => ({
  slo: scenario.slo,
  maxScheduleLagMs: scenario.load.maxScheduleLagMs,
  maxClientLagMs: scenario.load.maxClientLagMs,
  ...(scenario.load.maxClientUtilization !== undefined ? { maxClientUtilization: scenario.load.maxClientUtilization } : {}),
  maxStartOffsetMs: scenario.load.maxStartOffsetMs,
});

/**
 * A shard's wait for its cell (0-based `index`): until the cell's scheduled start, on the run's
 * clock. Returns how late the cell then starts, ms; undefined when the run has no schedule.
 */
async function awaitCellStart(session: Session, index: number, kind: LoadLevel['kind']): Promise<number | undefined> {
  const span = timedSpanMs(session.scenario, kind);
  const startUnixMs = session.shard && span !== undefined ? cellStartUnixMs(session.shard, index, span) : undefined;
  if (startUnixMs === undefined) return undefined;
  const due = session.clockMsAt(startUnixMs);
  // Interrupted while waiting: the cell then sends nothing (its loop sees the signal) and the run ends.
  await sleepUntil(session.clock, due, session.interrupt).catch(() => undefined);
  return Math.max(0, session.clock.now() - due);
}

/**
 * One cell: the model at `load` (concurrency, or requests/s). Sends
 * its load (yielding progress), then counts its tokens and aggregates
 * (yielding each record, then the summary); `repeat` numbers a repetition.
 */
async function* measureCell(
  session: Session,
  modelIndex: number,
  load: LoadLevel,
  repeat?: number,
): AsyncGenerator<RunEvent, { accumulator: CellAccumulator; summary: CellSummary }> {
  const { scenario, clock } = session;
  const workload = session.workloads[modelIndex]!;
  const key: CellKey = { model: workload.model.name, load, ...(repeat !== undefined ? { repeat } : {}) };
  const cell = ++session.started;
  const share = session.shard?.share ?? WHOLE;
  const startOffsetMs = await awaitCellStart(session, cell - 1, load.kind);

  const startedAt = clock.now();
  const { requests, total, warmups, durationMs, stopHealth } = session.workers
    ? workersCell(session, session.workers, workload, load, `c${cell}`, startedAt, share)
    : threadCell(session, workload, load, `c${cell}`, share);
  const finished: FinishedRequest[] = [];
  let health: ClientHealth | undefined;
  try {
    for await (const request of requests) {
      finished.push(request);
      const progress = progressOf(request, { ...key, cell, done: finished.length, elapsedMs: clock.now() - startedAt });
      if (session.cells !== undefined) progress.cells = session.cells;
      if (total !== undefined) progress.total = total;
      if (warmups !== undefined) progress.warmups = warmups;
      if (durationMs !== undefined) progress.durationMs = durationMs;
      yield { type: 'progress', progress };
    }
  } finally {
    // Stopped before token counting: that work is the client's, but not while it stamps anything.
    health = stopHealth();
  }

  // The cell's load is over: now ask the server's tokenizer (if the model uses it), count tokens and aggregate.
  if (workload.server) {
    const texts = finished.flatMap((request) => textsToCount(request));
    for (const message of await workload.server.prepare(texts)) yield { type: 'warning', message };
  }
  const accumulator = new CellAccumulator(key, cellOptions(scenario));
  if (health) accumulator.addClientHealth(health);
  if (startOffsetMs !== undefined) accumulator.recordStartOffset(startOffsetMs);
  for (const request of finished) {
    const record = countTokens(request, workload, load);
    if (repeat !== undefined) record.repeat = repeat;
    if (session.shard) record.shard = share.index;
    if (startOffsetMs !== undefined) record.startOffsetMs = startOffsetMs;
    if (request.slot !== undefined) record.slot = request.slot;
    if (request.session !== undefined) record.session = request.session;
    if (request.turn !== undefined) record.turn = request.turn;
    record.scheduledAtUnixMs = session.unixMsAt(request.exchange?.ts ?? request.ts);
    if (request.exchange) record.sentAtUnixMs = session.unixMsAt(request.exchange.t0);
    if (scenario.slo.length > 0) record.metSlo = requestMeetsSlo(record, scenario.slo);
    accumulator.add(record, request.exchange ?? { ts: request.ts, t0: request.ts, tEnd: request.ts });
    yield { type: 'record', record };
  }
  const summary = accumulator.summary();
  yield { type: 'cell', cell: summary };
  if (!session.warnedRepeatedSessions.has(modelIndex) && isSessionWorkload(workload.prompts) && sessionsRepeated(workload.sessions, { prompts: workload.prompts, share })) {
    session.warnedRepeatedSessions.add(modelIndex);
    yield {
      type: 'warning',
      message:
        `${workload.model.name}: the run has started more sessions than there are distinct conversations (${workload.prompts.length}), so some were sent again ` +
        "from this cell on: a server's prefix cache may serve their first turns, and turn 1's TTFT is then not a cold one; raise prompts.synthetic.count (or use a larger dataset)",
    };
  }
  return { accumulator, summary };
}

/** A cell's load as measureCell runs it, and what stops the watch on the client's health and reports it. */
type RunningLoad = CellLoad & { stopHealth: () => ClientHealth | undefined };

/** The cell sent from this thread, through the session's client, this thread's event loop watched. */
function threadCell(session: Session, workload: ModelWorkload, load: LoadLevel, idPrefix: string, share: Share): RunningLoad {
  const { scenario, clock } = session;
  const send: SendRequest = ({ id, prompt, messages, ts, turn }) =>
    session.client.send({
      id,
      model: workload.model.name,
      messages,
      params: requestParams(scenario, workload, prompt, turn),
      ...(ts !== undefined ? { ts } : {}),
      timeoutMs: scenario.target.timeoutMs,
      idleTimeoutMs: scenario.target.idleTimeoutMs,
      ...(session.interrupt ? { interrupt: session.interrupt } : {}),
    });
  const options = { clock, sessions: workload.sessions, ...(session.interrupt ? { interrupt: session.interrupt } : {}) };
  const cellLoaded = cellLoad(scenario, load, workload.prompts, idPrefix, send, options, share);
  const monitor = session.clientHealth?.();
  return { ...cellLoaded, stopHealth: () => monitor?.stop() };
}

/**
 * The cell split over the worker threads, each sending and reading its share. This thread stamps
 * nothing, so its own loop is not watched: the workers' loops are (METRICS.md, "The client's own health").
 */
function workersCell(
  session: Session,
  workers: LoadWorkers,
  workload: ModelWorkload,
  load: LoadLevel,
  idPrefix: string,
  startAt: number,
  share: Share,
): RunningLoad {
  const { scenario } = session;
  const cell = workers.runCell({
    model: workload.model.name,
    load,
    idPrefix,
    prompts: workload.prompts,
    params: workload.prompts.map((_, prompt) => requestParams(scenario, workload, prompt)),
    startAt,
  }, share);
  return { requests: cell.requests, ...cellSize(scenario, load, { share, sessions: isSessionWorkload(workload.prompts) }), stopHealth: cell.health };
}

/**
 * The texts a tokenizer may be asked about for one request: each choice's whole output, and the
 * prompt when the server reported no prompt_tokens (request-record.ts counts it then).
 */
function textsToCount(request: FinishedRequest): string[] {
  const exchange = request.exchange;
  if (exchange === undefined) return [];
  const byChoice = new Map<number, string>();
  for (const chunk of exchange.chunks) byChoice.set(chunk.choice, (byChoice.get(chunk.choice) ?? '') + chunk.text);
  const texts = [...byChoice.values()];
  const promptTokens = exchange.usage?.prompt_tokens;
  if (!(typeof promptTokens === 'number' && Number.isInteger(promptTokens) && promptTokens >= 0)) texts.push(request.messages.map((message) => message.content).join('\n'));
  return texts;
}

/** Token attribution: a finished request becomes a record with its tokens counted and its metrics derived. */
function countTokens(request: FinishedRequest, workload: ModelWorkload, load: LoadLevel): RequestRecord {
  // The server's own tokenizer where it tokenized every text of this request; else the next source.
  const server = workload.server?.covers(textsToCount(request)) ? workload.server : undefined;
  const context = {
    model: workload.model.name,
    load,
    warmup: request.warmup,
    prompt: request.prompt,
    messages: request.messages,
    tokenizer: server ?? workload.tokenizer,
    fallback: server ? false : workload.fallback,
  };
  if (request.exchange === undefined) return droppedRecord(request.id, request.ts, context);
  try {
    return toRequestRecord(request.exchange, context);
  } catch (error) {
    // One response tokenmeter cannot count must not cost the run its other results.
    return uncountedRecord(request.exchange, context, error as Error);
  }
}

/** The thresholds' verdict on a run, as terminal lines, Markdown and JUnit; undefined when the scenario has none. */
export function judgeThresholds(
  scenario: Scenario,
  result: RunResult,
): { results: ThresholdResult[]; failed: boolean; lines: string; markdown: string; junit: string } | undefined {
  if (scenario.thresholds.length === 0) return undefined;
  // With --repeat, thresholds judge each cell's repeats merged, not one lucky (or unlucky) repeat.
  const results = evaluateThresholds(scenario.thresholds, judgedCells(result));
  return {
    results,
    failed: results.some((r) => !r.ok),
    lines: renderThresholdLines(results),
    markdown: renderThresholdMarkdown(result.completed ? scenario.name : `${scenario.name} (interrupted: incomplete)`, results),
    junit: renderJunit([{ name: `thresholds: ${scenario.name}`, cases: thresholdCases(results) }]),
  };
}

/** The cells a verdict or the report judges: each cell run once, or each cell's repeats merged. */
export const judgedCells = (result: Pick<RunResult, 'cells'>): CellSummary[] => result.cells.filter((cell) => cell.repeat === undefined);

/** What the run was, for run.json. */
export interface RunContext {
  startedAt: Date;
  endedAt: Date;
  /** The URL requests went to (the simulator's address for builtin). */
  baseURL: string;
  argv: string[];
  tokenmeterVersion: string;
  /** Why the run did not complete (run.json's `incomplete_reason`): a Ctrl-C, or a file that could not be written. */
  incompleteReason?: string;
  /** `run --shard`: the shard this run was. */
  shard?: ShardSchedule;
  /** Threads that sent and read the load (`--workers`). */
  workers?: number;
  /** `merge`: the folders it merged. */
  mergedFrom?: MergedFolder[];
}

/** run.json's facts: what ran, with what, when, and whether it finished. */
export function runInfoOf(scenario: Scenario, result: Pick<RunResult, 'completed' | 'warnings'>, context: RunContext): RunInfo {
  return {
    scenario,
    tokenmeterVersion: context.tokenmeterVersion,
    startedAt: context.startedAt,
    endedAt: context.endedAt,
    completed: result.completed,
    ...(!result.completed && context.incompleteReason !== undefined ? { incompleteReason: context.incompleteReason } : {}),
    baseURL: context.baseURL,
    warnings: result.warnings,
    argv: context.argv,
    nodeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
    ...(context.shard ? { shard: context.shard } : {}),
    ...(context.workers !== undefined ? { workers: context.workers } : {}),
    ...(context.mergedFrom ? { mergedFrom: context.mergedFrom } : {}),
  };
}

/**
 * Every output file of a results folder but requests.jsonl (written as the run goes): name → contents.
 * `runJson: false` leaves run.json out, for a caller that renders it itself (the run command writes it
 * last, with what it knows only once the other files are written).
 */
export async function renderResultFiles(scenario: Scenario, result: RunResult, context: RunContext, options: { runJson?: boolean } = {}): Promise<Record<string, string>> {
  const capacity = result.capacity ? { capacity: result.capacity } : {};
  const sweep = result.sweep ? { sweep: result.sweep } : {};
  const run = runInfoOf(scenario, result, context);
  const cells = judgedCells(result);
  return {
    'summary.csv': renderSummaryCsv(result.cells),
    'summary.json': renderSummaryJson(result.cells, { ...capacity, ...sweep }),
    'histograms.csv': renderHistogramsCsv(result.cells),
    'histograms.json': renderHistogramsJson(result.cells),
    ...(options.runJson === false ? {} : { 'run.json': renderRunJson(run) }),
    'report.html': await renderReportHtml({
      title: scenario.name,
      ...(scenario.description !== undefined ? { description: scenario.description } : {}),
      generatedAt: context.endedAt.toISOString(),
      cells,
      slo: scenario.slo,
      provenance: provenanceOf(provenanceSourceOf(run), repeatCount(cells), result.sweep),
      // Every repeat's timeline: a merged cell's repeats ran at different times.
      timelineCells: result.cells,
      ...capacity,
      ...sweep,
    }),
  };
}
