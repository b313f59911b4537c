/**
 * The headline of each model: the highest load that met the SLO, the best
 * goodput, and how many tokens its chunks carry. One pure function, so the
 * run report and `compare` say the same thing.
 */
import type { CellSummary } from '../metrics/cell-summary.js';
import type { LoadLevel, SloBound } from '../types.js';

/** One model's headline numbers, over the cells of a run (each cell once: merged repeats, not their parts). */
export interface Headline {
  model: string;
  /** Whether the scenario had an SLO; without one, `maxLoadWithinSlo` and `bestGoodput` are undefined. */
  hasSlo: boolean;
  /** The highest load whose cell met every SLO bound (invalid cells never do); undefined when none did, or without an SLO. */
  maxLoadWithinSlo?: LoadLevel;
  /** The cell with the highest goodput (requests within the SLO per s); undefined without an SLO. */
  bestGoodput?: { perS: number; load: LoadLevel };
  /** The cell with the highest output throughput, tokens/s; undefined when the model has no cell. */
  bestThroughput?: { tokensPerS: number; load: LoadLevel };
  /** Mean tokens per chunk over all the model's cells (weighted by their chunks); undefined when no chunk carried tokens. */
  tokensPerChunk?: number;
}

/** Code-point order: the same on every machine, unlike localeCompare. */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Later load first: a closed-loop level above an open-loop one only when both kinds are present (compare). */
const higher = (a: LoadLevel, b: LoadLevel): boolean => (a.kind === b.kind ? a.value > b.value : a.kind > b.kind);

/** One headline per model, in model-name order. */
export function headlines(cells: readonly CellSummary[], slo: readonly SloBound[]): Headline[] {
  const models = [...new Set(cells.map((cell) => cell.model))].sort(byCodePoint);
  const hasSlo = slo.length > 0;
  return models.map((model) => {
    const own = cells.filter((cell) => cell.model === model);
    const headline: Headline = { model, hasSlo };
    for (const cell of own) {
      if (hasSlo && cell.slo?.met && (!headline.maxLoadWithinSlo || higher(cell.load, headline.maxLoadWithinSlo))) headline.maxLoadWithinSlo = cell.load;
      if (hasSlo && cell.goodputPerS !== undefined && (!headline.bestGoodput || cell.goodputPerS > headline.bestGoodput.perS)) {
        headline.bestGoodput = { perS: cell.goodputPerS, load: cell.load };
      }
      if (!headline.bestThroughput || cell.outputTokensPerS > headline.bestThroughput.tokensPerS) {
        headline.bestThroughput = { tokensPerS: cell.outputTokensPerS, load: cell.load };
      }
    }
    let chunks = 0;
    let tokens = 0;
    for (const cell of own) {
      const stats = cell.stats.tokens_per_chunk;
      if (stats && stats.count > 0) {
        chunks += stats.count;
        tokens += stats.mean * stats.count;
      }
    }
    if (chunks > 0) headline.tokensPerChunk = tokens / chunks;
    return headline;
  });
}
