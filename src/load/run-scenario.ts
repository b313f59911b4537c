/**
 * Runs the cells of a scenario (each model × load level) and turns what came
 * back into request records and cell summaries. `runScenario` runs the
 * scenario's sweep; `tokenmeter capacity` drives a ScenarioRunner cell by cell.
 *
 * Token counting happens when a cell's load has finished, so the tokenizer
 * never competes with the socket reads of other streams for the event loop.
 */
import { ChatClient } from '../client/chat-client.js';
import { CellAccumulator, mergeRepeats, type CellOptions, type CellSummary } from '../metrics/cell-summary.js';
import { droppedRecord, toRequestRecord, uncountedRecord } from '../metrics/request-record.js';
import { requestMeetsSlo } from '../metrics/slo.js';
import { FALLBACK_TOKENIZER, loadTokenizer, loadTokenizerFile, tokenizerForModelName, type Tokenizer } from '../metrics/tokenizers.js';
import { outputLengthParams, providerWarnings } from '../scenario/providers.js';
import type { CellKey, LoadLevel, ModelSpec, Prompt, RequestRecord, Scenario, TokenizerName } from '../types.js';
import { closedLoop, type CellPlan, type FinishedRequest, type SendRequest } from './closed-loop.js';
import { openLoop } from './open-loop.js';
import { deriveSeed, seededRandom } from '../util/random.js';
import { buildSyntheticPrompts } from './synthetic-prompts.js';

export interface Progress extends CellKey {
  /** 1-based position of the cell; `cells` is the number of cells, when known in advance. */
  cell: number;
  cells?: number;
  /** Requests finished in this cell, warm-up and dropped included. */
  done: number;
  /** Requests the cell will send, when bounded by a count. */
  total?: number;
  /** Time since the cell started, and, when bounded by time, how long it will run (warm-up time + measured duration), ms. */
  elapsedMs: number;
  durationMs?: number;
  warmup: boolean;
  /** The request failed (or was dropped). */
  failed: boolean;
  /** Completion tokens reported by the server (or chunks, without usage) of the request that just ended. */
  tokens: number;
  /** Time to the first chunk with text, ms (before tokens are counted); undefined without one. */
  firstChunkMs?: number;
}

export interface RunOptions {
  /** The URL to send to; replaces `builtin` with the simulator's address. */
  baseURL: string;
  /** Aborting it stops the run: nothing new is sent, requests in flight end as `interrupted`. */
  interrupt?: AbortSignal;
  /** Every request, warm-up and dropped ones included, once its tokens are counted. */
  onRecord?: (record: RequestRecord) => void | Promise<void>;
  onProgress?: (progress: Progress) => void;
  /** Called once per cell with its summary. */
  onCell?: (summary: CellSummary) => void | Promise<void>;
  /** Run each cell this many times (default 1); the repeats are kept apart and also merged, with their spread. */
  repeat?: number;
}

export interface RunResult {
  cells: CellSummary[];
  /** False when the run was interrupted. */
  completed: boolean;
  warnings: string[];
}

/** The seed stream of open-loop arrivals (deriveSeed's part), apart from synthetic prompts'. */
const ARRIVALS_STREAM = 0xa1;

/** Default open-loop warm-up when the scenario sets none: one second of arrivals. */
const OPEN_LOOP_WARMUP_MS = 1000;

interface ModelSetup {
  model: ModelSpec;
  tokenizer: Tokenizer;
  fallback: boolean;
  prompts: Prompt[];
}

/** Holds what every cell of a run shares: the client, the tokenizers, the prompts. */
export class ScenarioRunner {
  readonly cells: CellSummary[] = [];

  private constructor(
    private readonly scenario: Scenario,
    private readonly options: RunOptions,
    private readonly client: ChatClient,
    private readonly setups: ModelSetup[],
    readonly warnings: string[],
  ) {}

  static async open(scenario: Scenario, options: RunOptions): Promise<ScenarioRunner> {
    const warnings = providerWarnings(scenario);
    // Load every tokenizer (and build synthetic prompts) before the first request: nothing loads between cells.
    // Synthetic prompts depend only on the tokenizer (and the seed): models that share one share them.
    const synthetic = new Map<Tokenizer, Prompt[]>();
    const setups = await Promise.all(
      scenario.models.map(async (model): Promise<ModelSetup> => {
        const { tokenizer, fallback } = await tokenizerFor(model, warnings);
        if (!Array.isArray(scenario.prompts) && !synthetic.has(tokenizer)) {
          synthetic.set(tokenizer, buildSyntheticPrompts(scenario.prompts, tokenizer, scenario.seed));
        }
        const prompts = Array.isArray(scenario.prompts) ? scenario.prompts : synthetic.get(tokenizer)!;
        return { model, tokenizer, fallback, prompts };
      }),
    );
    const client = new ChatClient({
      baseURL: options.baseURL,
      api: scenario.target.api,
      ...(scenario.target.apiKey !== undefined ? { apiKey: scenario.target.apiKey } : {}),
      headers: scenario.target.headers,
      newConnectionPerRequest: scenario.target.newConnectionPerRequest,
    });
    return new ScenarioRunner(scenario, options, client, setups, warnings);
  }

  get interrupted(): boolean {
    return this.options.interrupt?.aborted === true;
  }

  /** Runs one cell: the model's load at `value` (concurrency, or requests/s). */
  async runCell(modelIndex: number, value: number, cells?: number): Promise<CellSummary> {
    return (await this.measure(modelIndex, value, cells)).summary;
  }

  /** Runs a cell `repeat` times (each a cell of its own), and returns the repeats merged; undefined if none ran. */
  async runRepeats(modelIndex: number, value: number, repeat: number, cells?: number): Promise<CellSummary | undefined> {
    const parts: { accumulator: CellAccumulator; summary: CellSummary }[] = [];
    for (let r = 1; r <= repeat && !this.interrupted; r++) parts.push(await this.measure(modelIndex, value, cells, r));
    return parts.length > 0 ? mergeRepeats(parts, this.cellOptions) : undefined;
  }

  private get cellOptions(): CellOptions {
    return { slo: this.scenario.slo, maxScheduleLagMs: this.scenario.load.maxScheduleLagMs };
  }

  /** Sends a cell's load, then counts its tokens and aggregates; `repeat` numbers a repetition. */
  private async measure(modelIndex: number, value: number, cells?: number, repeat?: number) {
    const { scenario, options } = this;
    const setup = this.setups[modelIndex]!;
    const load: LoadLevel = { kind: scenario.load.kind, value };
    const key: CellKey = { model: setup.model.name, load, ...(repeat !== undefined ? { repeat } : {}) };
    const cell = this.cells.length + 1;
    const plan: CellPlan = { prompts: setup.prompts, idPrefix: `c${cell}` };
    const { requests, durationMs, warmup, warmupMs } = scenario.load;
    if (requests !== undefined) plan.requests = requests;
    if (durationMs !== undefined) plan.durationMs = durationMs;
    if (warmup !== undefined) plan.warmup = warmup;
    if (warmupMs !== undefined) plan.warmupMs = warmupMs;
    else if (warmup === undefined && load.kind === 'rate') plan.warmupMs = OPEN_LOOP_WARMUP_MS;

    const send = this.sender(setup);
    const loop =
      load.kind === 'concurrency'
        ? closedLoop({ ...plan, concurrency: value }, send, options.interrupt)
        : openLoop(
            {
              ...plan,
              rate: value,
              arrival: scenario.load.arrival,
              maxInFlight: scenario.load.maxInFlight,
              // Seeded by the scenario and the level, not the model: every model sees the same arrivals.
              random: seededRandom(deriveSeed(scenario.seed, ARRIVALS_STREAM, Math.round(value * 1000))),
            },
            send,
            options.interrupt,
          );
    const total = load.kind === 'concurrency' && requests !== undefined && warmupMs === undefined ? Math.max(warmup ?? 0, value) + requests : undefined;
    // A time-bounded cell's progress runs over its warm-up time and its measured duration.
    const cellMs = durationMs !== undefined ? durationMs + (plan.warmupMs ?? 0) : undefined;
    const startedAt = performance.now();
    const finished: FinishedRequest[] = [];
    for await (const request of loop) {
      finished.push(request);
      options.onProgress?.(progressOf(request, { ...key, cell, done: finished.length, elapsedMs: performance.now() - startedAt }, cells, total, cellMs));
    }

    // The cell's load is over: now count tokens and aggregate.
    const accumulator = new CellAccumulator(key, this.cellOptions);
    for (const request of finished) {
      const record = this.recordOf(request, setup, load);
      if (repeat !== undefined) record.repeat = repeat;
      if (scenario.slo.length > 0) record.metSlo = requestMeetsSlo(record, scenario.slo);
      accumulator.add(record, request.exchange ?? { t0: request.ts, tEnd: request.ts });
      await options.onRecord?.(record);
    }
    const summary = accumulator.summary();
    this.cells.push(summary);
    await options.onCell?.(summary);
    return { accumulator, summary };
  }

  close(): void {
    this.client.close();
  }

  private sender(setup: ModelSetup): SendRequest {
    const { scenario, options } = this;
    const exact = !Array.isArray(scenario.prompts);
    return (request) => {
      const maxTokens = setup.prompts[request.prompt]!.maxTokens;
      return this.client.send({
        id: request.id,
        model: setup.model.name,
        messages: request.messages,
        params: { ...scenario.params, ...setup.model.params, ...(maxTokens !== undefined ? this.outputParams(maxTokens, exact) : {}) },
        ...(request.ts !== undefined ? { ts: request.ts } : {}),
        timeoutMs: scenario.target.timeoutMs,
        idleTimeoutMs: scenario.target.idleTimeoutMs,
        ...(options.interrupt ? { interrupt: options.interrupt } : {}),
      });
    };
  }

  /**
   * A prompt's own output length: a cap (a JSONL line's max_tokens), or, for
   * synthetic prompts, an exact length, with ignore_eos/min_tokens where the
   * provider takes them (the built-in simulator does).
   */
  private outputParams(maxTokens: number, exact: boolean): Record<string, unknown> {
    const { target } = this.scenario;
    const provider = target.baseURL === 'builtin' ? 'vllm' : target.provider;
    const params = exact ? outputLengthParams(provider, maxTokens) : { max_tokens: maxTokens };
    if (target.api !== 'responses') return params;
    const { max_tokens: cap, ...rest } = params;
    return { ...rest, max_output_tokens: cap };
  }

  private recordOf(request: FinishedRequest, setup: ModelSetup, load: LoadLevel): RequestRecord {
    const context = {
      model: setup.model.name,
      load,
      warmup: request.warmup,
      prompt: request.prompt,
      messages: request.messages,
      tokenizer: setup.tokenizer,
      fallback: setup.fallback,
    };
    if (request.exchange === undefined) return droppedRecord(request.id, request.ts, context);
    try {
      return toRequestRecord(request.exchange, context);
    } catch (error) {
      // One response tokenmeter cannot count must not cost the run its other results.
      return uncountedRecord(request.exchange, context, error as Error);
    }
  }
}

function progressOf(
  request: FinishedRequest,
  base: CellKey & Pick<Progress, 'cell' | 'done' | 'elapsedMs'>,
  cells: number | undefined,
  total: number | undefined,
  durationMs: number | undefined,
): Progress {
  const exchange = request.exchange;
  const usageTokens = exchange?.usage?.completion_tokens;
  const firstChunk = exchange?.chunks.find((chunk) => chunk.text !== '');
  const progress: Progress = {
    ...base,
    warmup: request.warmup,
    failed: exchange === undefined || exchange.error !== undefined,
    tokens: typeof usageTokens === 'number' ? usageTokens : (exchange?.chunks.length ?? 0),
  };
  if (cells !== undefined) progress.cells = cells;
  if (total !== undefined) progress.total = total;
  if (durationMs !== undefined) progress.durationMs = durationMs;
  if (firstChunk && exchange) progress.firstChunkMs = firstChunk.at - exchange.t0;
  return progress;
}

/** Runs the scenario's sweep: every model at every level, in order. */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const runner = await ScenarioRunner.open(scenario, options);
  const repeat = options.repeat ?? 1;
  const cells = scenario.models.length * scenario.load.levels.length * repeat;
  const merged: CellSummary[] = [];
  try {
    for (const modelIndex of scenario.models.keys()) {
      for (const value of scenario.load.levels) {
        if (repeat === 1) {
          if (!runner.interrupted) await runner.runCell(modelIndex, value, cells);
          continue;
        }
        const repeats = await runner.runRepeats(modelIndex, value, repeat, cells);
        if (repeats) merged.push(repeats);
      }
    }
  } finally {
    runner.close();
  }
  // Each cell's repeats, then the merged cells (repeat undefined): what thresholds and the report judge.
  return { cells: [...runner.cells, ...merged], completed: !runner.interrupted, warnings: runner.warnings };
}

async function tokenizerFor(model: ModelSpec, warnings: string[]) {
  if (model.tokenizer?.endsWith('.json')) return { tokenizer: await loadTokenizerFile(model.tokenizer), fallback: false };
  const name = (model.tokenizer as TokenizerName | undefined) ?? tokenizerForModelName(model.name);
  if (name !== undefined) return { tokenizer: await loadTokenizer(name), fallback: false };
  warnings.push(
    `no tokenizer known for model "${model.name}": counting with the fallback ${FALLBACK_TOKENIZER} tokenizer ` +
      `(reconciled with the server's usage where it reports it); set models[].tokenizer to choose one`,
  );
  return { tokenizer: await loadTokenizer(FALLBACK_TOKENIZER), fallback: true };
}
