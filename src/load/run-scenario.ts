/**
 * Runs every cell of a scenario (each model × concurrency level) and turns
 * what came back into request records and cell summaries.
 *
 * Token counting happens when a cell's load has finished, so the tokenizer
 * never competes with the socket reads of other streams for the event loop.
 */
import { ChatClient } from '../client/chat-client.js';
import { CellAccumulator, type CellSummary } from '../metrics/cell-summary.js';
import { toRequestRecord, uncountedRecord } from '../metrics/request-record.js';
import { FALLBACK_TOKENIZER, loadTokenizer, loadTokenizerFile, tokenizerForModelName } from '../metrics/tokenizers.js';
import type { CellKey, ModelSpec, RequestRecord, Scenario, TokenizerName } from '../types.js';
import { closedLoop, type FinishedRequest } from './closed-loop.js';
import { providerWarnings } from '../scenario/providers.js';

export interface Progress extends CellKey {
  /** 1-based position of the cell, and the number of cells. */
  cell: number;
  cells: number;
  done: number;
  total: number;
  /** Completion tokens reported by the server (or chunks, without usage) of the request that just ended. */
  tokens: number;
}

export interface RunOptions {
  /** The URL to send to; replaces `builtin` with the simulator's address. */
  baseURL: string;
  /** Aborting it stops the run: nothing new is sent, requests in flight end as `interrupted`. */
  interrupt?: AbortSignal;
  /** Every request, warm-up included, once its tokens are counted. */
  onRecord?: (record: RequestRecord) => void | Promise<void>;
  onProgress?: (progress: Progress) => void;
  /** Called once per cell with its summary. */
  onCell?: (summary: CellSummary) => void | Promise<void>;
}

export interface RunResult {
  cells: CellSummary[];
  /** False when the run was interrupted. */
  completed: boolean;
  warnings: string[];
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const cells: CellSummary[] = [];
  const warnings: string[] = [];
  const cellCount = scenario.models.length * scenario.load.concurrency.length;
  warnings.push(...providerWarnings(scenario));
  // Load every tokenizer before the first request: none loads between cells, or after Ctrl-C.
  const tokenizers = await Promise.all(scenario.models.map((model) => tokenizerFor(model, warnings)));
  const client = new ChatClient({
    baseURL: options.baseURL,
    api: scenario.target.api,
    ...(scenario.target.apiKey !== undefined ? { apiKey: scenario.target.apiKey } : {}),
    headers: scenario.target.headers,
    newConnectionPerRequest: scenario.target.newConnectionPerRequest,
  });
  try {
    for (const [modelIndex, model] of scenario.models.entries()) {
      const { tokenizer, fallback } = tokenizers[modelIndex]!;
      for (const concurrency of scenario.load.concurrency) {
        if (options.interrupt?.aborted) break;
        const key: CellKey = { model: model.name, concurrency };
        // At least one warm-up request per slot (METRICS.md): no measured request opens a connection.
        const warmup = Math.max(scenario.load.warmup ?? 0, concurrency);
        const total = warmup + scenario.load.requests;
        const finished: FinishedRequest[] = [];
        const loop = closedLoop(
          { concurrency, warmup, requests: scenario.load.requests, prompts: scenario.prompts, idPrefix: `c${cells.length + 1}` },
          (request) =>
            client.send({
              id: request.id,
              model: model.name,
              messages: request.messages,
              params: { ...scenario.params, ...model.params },
              ts: request.ts,
              timeoutMs: scenario.target.timeoutMs,
              idleTimeoutMs: scenario.target.idleTimeoutMs,
              ...(options.interrupt ? { interrupt: options.interrupt } : {}),
            }),
          options.interrupt,
        );
        for await (const request of loop) {
          finished.push(request);
          const usageTokens = request.exchange.usage?.completion_tokens;
          options.onProgress?.({
            ...key,
            cell: cells.length + 1,
            cells: cellCount,
            done: finished.length,
            total,
            tokens: typeof usageTokens === 'number' ? usageTokens : request.exchange.chunks.length,
          });
        }

        // The cell's load is over: now count tokens and aggregate.
        const accumulator = new CellAccumulator(key);
        for (const request of finished) {
          const context = {
            model: model.name,
            concurrency,
            warmup: request.warmup,
            prompt: request.prompt,
            messages: request.messages,
            tokenizer,
            fallback,
          };
          let record: RequestRecord;
          try {
            record = toRequestRecord(request.exchange, context);
          } catch (error) {
            // One response tokenmeter cannot count must not cost the run its other results.
            record = uncountedRecord(request.exchange, context, error as Error);
          }
          accumulator.add(record, request.exchange);
          await options.onRecord?.(record);
        }
        const summary = accumulator.summary();
        cells.push(summary);
        await options.onCell?.(summary);
      }
    }
  } finally {
    client.close();
  }
  return { cells, completed: !options.interrupt?.aborted, warnings };
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
