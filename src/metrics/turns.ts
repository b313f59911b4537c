/**
 * Multi-turn sessions, turn by turn: each turn's TTFT and prompt tokens
 * (cached and all), over a cell's measured requests. Prefix reuse shows here:
 * on a server with a prefix cache, a later turn's history is mostly cached,
 * so its TTFT falls while its prompt grows.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { RequestRecord } from '../types.js';
import { createHistogram, recordValue, statsOf } from './histograms.js';

/** One turn of a cell's sessions (summary.json's `byTurn`). */
export interface TurnSummary {
  /** The turn, 1-based. */
  turn: number;
  /** Measured requests of this turn that were sent (warm-up and interrupted ones excluded), failed ones included. */
  requests: number;
  /** Of them, the successful ones: what the figures below are of. */
  ok: number;
  /** TTFT median and 95th percentile, ms; undefined when no successful request had one. */
  ttftP50Ms?: number;
  ttftP95Ms?: number;
  /** Mean prompt tokens the server said came from its prefix cache, over the successful requests that reported it, tokens. */
  meanCachedPromptTokens?: number;
  /** Mean prompt tokens (the server's usage, else the tokenizer's count of the history), tokens. */
  meanPromptTokens?: number;
}

interface TurnTotals {
  requests: number;
  ok: number;
  ttft: Histogram;
  cachedSum: number;
  cachedCount: number;
  promptSum: number;
  promptCount: number;
}

export class TurnAccumulator {
  private readonly turns = new Map<number, TurnTotals>();

  private totalsOf(turn: number): TurnTotals {
    let totals = this.turns.get(turn);
    if (!totals) this.turns.set(turn, (totals = { requests: 0, ok: 0, ttft: createHistogram(), cachedSum: 0, cachedCount: 0, promptSum: 0, promptCount: 0 }));
    return totals;
  }

  /** A measured request that was sent (the cell accumulator leaves out warm-up, interrupted and dropped ones); one without a turn is ignored. */
  add(record: RequestRecord): void {
    if (record.turn === undefined) return;
    const totals = this.totalsOf(record.turn);
    totals.requests++;
    if (record.outcome !== 'ok') return;
    totals.ok++;
    const m = record.metrics;
    if (m.ttftMs !== undefined) recordValue(totals.ttft, 'ttft', m.ttftMs);
    if (record.cachedPromptTokens !== undefined) {
      totals.cachedSum += record.cachedPromptTokens;
      totals.cachedCount++;
    }
    if (m.inputTokens !== undefined) {
      totals.promptSum += m.inputTokens;
      totals.promptCount++;
    }
  }

  /** Adds another accumulator's turns (a repeat's): counts and sums added, histograms merged exactly. */
  addAll(other: TurnAccumulator): void {
    for (const [turn, from] of other.turns) {
      const into = this.totalsOf(turn);
      into.requests += from.requests;
      into.ok += from.ok;
      into.ttft.add(from.ttft);
      into.cachedSum += from.cachedSum;
      into.cachedCount += from.cachedCount;
      into.promptSum += from.promptSum;
      into.promptCount += from.promptCount;
    }
  }

  /** Each turn seen, in order; undefined when no request had a turn (a single-turn cell). */
  summary(): TurnSummary[] | undefined {
    if (this.turns.size === 0) return undefined;
    return [...this.turns.entries()]
      .sort(([a], [b]) => a - b)
      .map(([turn, totals]) => {
        const ttft = statsOf(totals.ttft, 'ttft');
        const summary: TurnSummary = { turn, requests: totals.requests, ok: totals.ok };
        if (ttft) {
          summary.ttftP50Ms = ttft.p50;
          summary.ttftP95Ms = ttft.p95;
        }
        if (totals.cachedCount > 0) summary.meanCachedPromptTokens = totals.cachedSum / totals.cachedCount;
        if (totals.promptCount > 0) summary.meanPromptTokens = totals.promptSum / totals.promptCount;
        return summary;
      });
  }
}
