/** A finished request as the live view sees it, before its tokens are counted. */
import type { CellKey } from '../types.js';
import type { FinishedRequest } from './cell-budget.js';

export interface Progress extends CellKey {
  /** 1-based position of the cell; `cells` is the number of cells, when known in advance. */
  cell: number;
  cells?: number;
  /** Requests finished in this cell, warm-up and dropped included. */
  done: number;
  /** Requests the cell will send, when bounded by a count (warm-up included). */
  total?: number;
  /** Of them, the warm-up requests, when known in advance. */
  warmups?: number;
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

export function progressOf(request: FinishedRequest, base: Omit<Progress, 'warmup' | 'failed' | 'tokens' | 'firstChunkMs'>): Progress {
  const exchange = request.exchange;
  const usageTokens = exchange?.usage?.completion_tokens;
  const firstChunk = exchange?.chunks.find((chunk) => chunk.text !== '');
  const progress: Progress = {
    ...base,
    warmup: request.warmup,
    failed: exchange === undefined || exchange.error !== undefined,
    tokens: typeof usageTokens === 'number' ? usageTokens : (exchange?.chunks.length ?? 0),
  };
  if (firstChunk && exchange) progress.firstChunkMs = firstChunk.at - exchange.t0;
  return progress;
}
