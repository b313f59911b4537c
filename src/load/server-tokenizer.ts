/**
 * `models[].tokenizer: server` (METRICS.md, "Counting the tokens of a
 * chunk", 2): the target server's own tokenize endpoint, asked after each
 * cell's load is over. `prepare` asks for every text the cell needs (each
 * distinct text once, a few requests at a time); the Tokenizer methods then
 * answer from that cache, synchronously, as attribution expects.
 *
 * A text the server could not tokenize, or whose token lengths do not cover
 * it exactly, is not in the cache: `covers` says so and the caller counts that
 * request with the next source. The first failure of the endpoint itself
 * (missing, an error, garbage, a timeout) ends its use for the rest of the
 * run, with one warning: the next cells do not ask it again.
 */
import { tokenizeEndpoint, type TokenizeEndpointOptions, type TokenizeText } from '../client/tokenize-endpoint.js';
import type { Tokenizer } from '../metrics/tokenizers.js';

/** Texts asked of the server at once. */
export const TOKENIZE_CONCURRENCY = 8;
/** Longest wait for one tokenize answer, ms. */
export const TOKENIZE_TIMEOUT_MS = 30_000;

export class ServerTokenizer implements Tokenizer {
  readonly name = 'server';
  private readonly cache = new Map<string, { ids: number[]; byteLengths: number[] }>();
  private readonly ask: TokenizeText;
  /** Why the endpoint is no longer asked, once it failed. */
  private failure: string | undefined;
  private warnedUncovered = false;

  /**
   * @param model the model name, for warnings and vLLM's `model` field
   * @param next what counts a text the server did not: named in warnings
   */
  constructor(
    readonly model: string,
    private readonly next: string,
    options: Omit<TokenizeEndpointOptions, 'model' | 'timeoutMs'> & { timeoutMs?: number },
  ) {
    this.ask = tokenizeEndpoint({ ...options, model, timeoutMs: options.timeoutMs ?? TOKENIZE_TIMEOUT_MS });
    this.cache.set('', { ids: [], byteLengths: [] });
  }

  /**
   * Asks the server for each text not yet known, `TOKENIZE_CONCURRENCY` at a
   * time. Never throws: returns the warnings to show (at most one per kind per run).
   */
  async prepare(texts: Iterable<string>): Promise<string[]> {
    const pending = [...new Set(texts)].filter((text) => !this.cache.has(text));
    if (this.failure !== undefined || pending.length === 0) return [];
    const warnings: string[] = [];
    let uncovered = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pending.length && this.failure === undefined) {
        const text = pending[next++]!;
        try {
          const tokens = await this.ask(text);
          const bytes = tokens.byteLengths.reduce((sum, n) => sum + n, 0);
          if (bytes === Buffer.byteLength(text) && tokens.byteLengths.length === tokens.ids.length) this.cache.set(text, tokens);
          else uncovered++;
        } catch (error) {
          if (this.failure === undefined) {
            this.failure = (error as Error).message;
            warnings.push(
              `${this.model}: the server's tokenize endpoint failed (${this.failure}); ` +
                `counting with ${this.next} instead for the rest of the run`,
            );
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(TOKENIZE_CONCURRENCY, pending.length) }, worker));
    if (uncovered > 0 && !this.warnedUncovered) {
      this.warnedUncovered = true;
      warnings.push(
        `${this.model}: the server's token lengths did not cover ${uncovered} output text(s) exactly; ` +
          `those requests are counted with ${this.next} (this warning is shown once)`,
      );
    }
    return warnings;
  }

  /** Whether every one of the texts was tokenized by the server (so this tokenizer can count them). */
  covers(texts: Iterable<string>): boolean {
    for (const text of texts) if (!this.cache.has(text)) return false;
    return true;
  }

  encode(text: string): number[] {
    return this.known(text).ids;
  }

  tokenByteLengths(text: string): number[] {
    return this.known(text).byteLengths;
  }

  private known(text: string): { ids: number[]; byteLengths: number[] } {
    const tokens = this.cache.get(text);
    // The pipeline checks `covers` first: reaching this is tokenmeter's bug, and the record says so.
    if (!tokens) throw new Error('the server tokenizer was not asked for this text');
    return tokens;
  }
}
