/**
 * The target server's own tokenize endpoint, asked after a cell (never while
 * it streams) for the tokens of a whole output text and each token's length
 * in UTF-8 bytes, so attribution can place every token in its chunk exactly as
 * it does with a local tokenizer (metrics/attribution.ts).
 *
 * Two formats, as the servers' own source defines them:
 * - vLLM: `POST /tokenize` at the server root (not under /v1),
 *   `{model, prompt, add_special_tokens, return_token_strs}` →
 *   `{tokens, count, max_model_len, token_strs?}`
 *   (vllm/entrypoints/serve/tokenize/serving.py, `create_tokenize`).
 *   `token_strs` is `tokenizer.convert_ids_to_tokens(ids)`: vocabulary
 *   strings, byte-level ("Ġ" for a space, one character per byte) or
 *   SentencePiece ("▁" for a space, "<0xHH>" for a raw byte). Versions before
 *   `return_token_strs` answer without it: then each distinct id is asked of
 *   `POST /detokenize` `{model, tokens: [id]}` → `{prompt}` once.
 * - llama.cpp: `POST /tokenize` `{content, add_special, with_pieces: true}` →
 *   `{tokens: [{id, piece}]}`, where piece is the token's text, or for a token
 *   that is not valid UTF-8 on its own, its bytes as an array of numbers
 *   (llama.cpp examples/server/README.md, "POST /tokenize").
 *
 * Anything else (a status other than 2xx, a body that is not this shape, a
 * timeout) is a `TokenizeEndpointError`: the caller falls to the next source.
 */

import type { TokenizeFormat } from '../types.js';

export type { TokenizeFormat };

/** A text's tokens as the server split it. */
export interface ServerTokens {
  ids: number[];
  /** UTF-8 byte length of each token; their sum is the text's byte length, or the text is not placeable. */
  byteLengths: number[];
}

/** The endpoint is missing, failed, or answered something that is not its format. */
export class TokenizeEndpointError extends Error {
  override name = 'TokenizeEndpointError';
}

export interface TokenizeEndpointOptions {
  /** The scenario's base URL (usually ending in /v1); the endpoint is at the server root. */
  baseURL: string;
  format: TokenizeFormat;
  model: string;
  /** Sent as a bearer token, as the chat requests send it. */
  apiKey?: string;
  /** The scenario's extra headers, as the chat requests send them. */
  headers?: Record<string, string>;
  /** Longest wait for one answer, ms. */
  timeoutMs: number;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/** The server root of a base URL: `http://host:8000/v1` → `http://host:8000`. */
export function serverRootOf(baseURL: string): string {
  return baseURL.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** A function that asks the server for one text's tokens; it throws TokenizeEndpointError. */
export type TokenizeText = (text: string) => Promise<ServerTokens>;

export function tokenizeEndpoint(options: TokenizeEndpointOptions): TokenizeText {
  const root = serverRootOf(options.baseURL);
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(options.apiKey !== undefined ? { authorization: `Bearer ${options.apiKey}` } : {}),
    ...options.headers,
  };
  const post = async (path: string, body: object): Promise<unknown> => {
    let response: Response;
    let text: string;
    try {
      response = await doFetch(`${root}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new TokenizeEndpointError(`POST ${root}${path} failed: ${(error as Error).message}`);
    }
    if (!response.ok) throw new TokenizeEndpointError(`POST ${root}${path} answered HTTP ${response.status}: ${text.slice(0, 120)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new TokenizeEndpointError(`POST ${root}${path} answered a body that is not JSON: ${text.slice(0, 120)}`);
    }
  };

  if (options.format === 'llamacpp') {
    return async (text) => {
      const body = await post('/tokenize', { content: text, add_special: false, with_pieces: true });
      return llamaCppTokens(body, `${root}/tokenize`);
    };
  }
  // Byte length of each id, asked of /detokenize once per id (servers without token_strs).
  const detokenized = new Map<number, Promise<number>>();
  const idLength = (id: number): Promise<number> => {
    let length = detokenized.get(id);
    if (!length) {
      length = post('/detokenize', { model: options.model, tokens: [id] }).then((body) => {
        const prompt = (body as { prompt?: unknown } | null)?.prompt;
        if (typeof prompt !== 'string') throw new TokenizeEndpointError(`POST ${root}/detokenize answered without a prompt string`);
        return Buffer.byteLength(prompt);
      });
      detokenized.set(id, length);
    }
    return length;
  };
  return async (text) => {
    const body = await post('/tokenize', { model: options.model, prompt: text, add_special_tokens: false, return_token_strs: true });
    const { ids, tokenStrs } = vllmTokens(body, `${root}/tokenize`);
    if (tokenStrs) return { ids, byteLengths: vocabularyByteLengths(tokenStrs, Buffer.byteLength(text)) };
    const byteLengths: number[] = [];
    for (const id of ids) byteLengths.push(await idLength(id));
    return { ids, byteLengths };
  };
}

function vllmTokens(body: unknown, where: string): { ids: number[]; tokenStrs?: string[] } {
  const { tokens, count, token_strs: tokenStrs } = (body ?? {}) as { tokens?: unknown; count?: unknown; token_strs?: unknown };
  if (!Array.isArray(tokens) || !tokens.every(isTokenId)) throw new TokenizeEndpointError(`${where} answered without a list of token ids`);
  if (count !== undefined && count !== tokens.length) throw new TokenizeEndpointError(`${where} answered count ${String(count)} for ${tokens.length} tokens`);
  if (tokenStrs === undefined || tokenStrs === null) return { ids: tokens };
  if (!Array.isArray(tokenStrs) || tokenStrs.length !== tokens.length || !tokenStrs.every((s) => typeof s === 'string')) {
    throw new TokenizeEndpointError(`${where} answered token_strs that do not match its tokens`);
  }
  return { ids: tokens, tokenStrs: tokenStrs as string[] };
}

function llamaCppTokens(body: unknown, where: string): ServerTokens {
  const tokens = (body as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens)) throw new TokenizeEndpointError(`${where} answered without a list of tokens`);
  const ids: number[] = [];
  const byteLengths: number[] = [];
  for (const token of tokens) {
    const { id, piece } = (token ?? {}) as { id?: unknown; piece?: unknown };
    if (!isTokenId(id)) throw new TokenizeEndpointError(`${where} answered a token without an id (was with_pieces ignored?)`);
    // A piece that is not valid UTF-8 on its own comes as its byte values.
    if (typeof piece === 'string') byteLengths.push(Buffer.byteLength(piece));
    else if (Array.isArray(piece) && piece.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) byteLengths.push(piece.length);
    else throw new TokenizeEndpointError(`${where} answered a token whose piece is neither text nor bytes`);
    ids.push(id);
  }
  return { ids, byteLengths };
}

const isTokenId = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * GPT-2's bytes_to_unicode: the printable bytes stand for themselves, the
 * other 68 are shifted to U+0100 and up. A byte-level vocabulary string has
 * one such character per byte (openai/gpt-2 encoder.py, `bytes_to_unicode`).
 */
const BYTE_LEVEL_CHARS: ReadonlySet<number> = (() => {
  const chars = new Set<number>();
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    chars.add(printable ? byte : 256 + shifted++);
  }
  return chars;
})();

/**
 * Byte lengths of vocabulary strings (vLLM's token_strs), read both ways a
 * vocabulary spells bytes: byte-level (one character per byte) or
 * SentencePiece ("▁" a space, "<0xHH>" one byte, else UTF-8). The reading
 * that covers the text's `textBytes` exactly is used; none, or two that
 * disagree, give lengths that do not cover it, so the text falls to the next source.
 */
export function vocabularyByteLengths(tokenStrs: readonly string[], textBytes: number): number[] {
  const byteLevel = tokenStrs.every((s) => [...s].every((c) => BYTE_LEVEL_CHARS.has(c.codePointAt(0)!))) ? tokenStrs.map((s) => [...s].length) : undefined;
  const sentencePiece = tokenStrs.map((s) => (/^<0x[0-9A-Fa-f]{2}>$/.test(s) ? 1 : Buffer.byteLength(s.replace(/\u2581/g, ' '))));
  // SentencePiece's normalizer prepends "▁" to the text: that byte was never sent.
  if (tokenStrs[0]?.startsWith('\u2581') && sum(sentencePiece) === textBytes + 1) sentencePiece[0]! -= 1;
  const covers = (lengths: number[] | undefined): lengths is number[] => lengths !== undefined && sum(lengths) === textBytes;
  if (covers(byteLevel) && covers(sentencePiece)) return byteLevel.every((n, i) => n === sentencePiece[i]) ? byteLevel : [];
  if (covers(byteLevel)) return byteLevel;
  return sentencePiece;
}

const sum = (values: readonly number[]): number => values.reduce((total, n) => total + n, 0);
