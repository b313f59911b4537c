/**
 * The simulator's tokenize endpoints, which split text exactly as the
 * simulator's own tokens are made: each token is `wordsPerToken` words, each
 * with its leading space (server.ts, planCompletion). So for any text it
 * generated, the tokens it reports are the truth, even where no public
 * tokenizer knows them (`wordsPerToken: 2`).
 *
 * `POST /tokenize` (at the root, as both servers have it) answers in vLLM's
 * format when the body has `prompt` (`{tokens, count, max_model_len}`, plus
 * `token_strs` as byte-level vocabulary strings when `return_token_strs` is
 * true; a BOS token first unless `add_special_tokens` is false, vLLM's
 * default) and in llama.cpp's when it has `content` (`{tokens: [{id, piece}]}`
 * with `with_pieces`, else bare ids). `POST /detokenize` `{tokens}` gives back
 * `{prompt}` for ids it handed out. Written apart from the client's reader
 * (client/tokenize-endpoint.ts): they must not share a bug.
 */
import type http from 'node:http';
import type { SimConfig } from '../types.js';
import { profileFor } from './profile.js';

/**
 * How the endpoints behave (tests of the client's fallbacks): `answer` (the default), `missing`
 * (404, as a server without them), `error` (500), `garbage` (200 with a body that is not JSON),
 * `noTokenStrs` (vLLM before `return_token_strs`: ids only).
 */
export type TokenizeMode = 'answer' | 'missing' | 'error' | 'garbage' | 'noTokenStrs';

export interface TokenizeRoute {
  /** Serves `path` when it is a tokenize endpoint (true), else leaves the request alone (false). */
  handles(req: http.IncomingMessage, res: http.ServerResponse, path: string, arrivedAt: number): boolean;
  /** performance.now() when each tokenize or detokenize request arrived, ms. */
  readonly arrivals: number[];
}

const BOS = { id: 1, text: '<s>' };
const MAX_MODEL_LEN = 131_072;

export function tokenizeRoute(config: SimConfig, mode: TokenizeMode = 'answer'): TokenizeRoute {
  const arrivals: number[] = [];
  const textById = new Map<number, string>([[BOS.id, BOS.text]]);
  return {
    arrivals,
    handles(req, res, path, arrivedAt) {
      if (req.method !== 'POST' || (path !== '/tokenize' && path !== '/detokenize')) return false;
      arrivals.push(arrivedAt);
      if (mode === 'missing') {
        reply(res, 404, { error: { message: `no route POST ${path}`, type: 'not_found', code: 404 } });
        return true;
      }
      readBody(req).then((text) => {
        if (mode === 'error') return reply(res, 500, { error: { message: 'tokenizer crashed', type: 'server_error', code: 500 } });
        if (mode === 'garbage') return replyText(res, 200, '<html>tokens: maybe</html>');
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          return reply(res, 400, { error: { message: 'the body is not valid JSON', type: 'invalid_request_error', code: 400 } });
        }
        if (path === '/detokenize') {
          const ids = Array.isArray(body.tokens) ? (body.tokens as unknown[]) : [];
          if (!ids.every((id) => typeof id === 'number' && textById.has(id))) return reply(res, 400, { error: { message: 'unknown token id', type: 'invalid_request_error', code: 400 } });
          return reply(res, 200, { prompt: ids.map((id) => textById.get(id as number)!).join('') });
        }
        const model = typeof body.model === 'string' ? body.model : '';
        const wordsPerToken = profileFor(config, model).wordsPerToken ?? 1;
        if (typeof body.prompt === 'string') {
          const tokens = splitTokens(body.prompt, wordsPerToken);
          if (body.add_special_tokens !== false) tokens.unshift(BOS.text);
          const ids = tokens.map((token) => (token === BOS.text ? BOS.id : idOf(token)));
          ids.forEach((id, i) => textById.set(id, tokens[i]!));
          const strs = body.return_token_strs === true && mode !== 'noTokenStrs' ? { token_strs: tokens.map((t, i) => (ids[i] === BOS.id ? t : byteLevel(t))) } : {};
          return reply(res, 200, { tokens: ids, count: ids.length, max_model_len: MAX_MODEL_LEN, ...strs });
        }
        if (typeof body.content === 'string') {
          const tokens = splitTokens(body.content, wordsPerToken);
          const ids = tokens.map(idOf);
          ids.forEach((id, i) => textById.set(id, tokens[i]!));
          return reply(res, 200, { tokens: body.with_pieces === true ? tokens.map((piece, i) => ({ id: ids[i], piece })) : ids });
        }
        return reply(res, 400, { error: { message: 'prompt (vLLM) or content (llama.cpp) is required', type: 'invalid_request_error', code: 400 } });
      }, () => undefined);
      return true;
    },
  };
}

/** Tokens of a text as the simulator makes them: runs of `wordsPerToken` words, each with its leading whitespace. */
export function splitTokens(text: string, wordsPerToken: number): string[] {
  const words = text.match(/\s*\S+/g) ?? [];
  const tokens: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerToken) tokens.push(words.slice(i, i + wordsPerToken).join(''));
  // Trailing whitespace belongs to the last token (or is one, in a text of only whitespace).
  const rest = text.slice(tokens.join('').length);
  if (rest.length > 0) {
    if (tokens.length > 0) tokens[tokens.length - 1] += rest;
    else tokens.push(rest);
  }
  return tokens;
}

/** A stable id per token text (FNV-1a, 31 bits), above the BOS id. */
function idOf(token: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(token)) hash = Math.imul(hash ^ byte, 0x01000193);
  return ((hash >>> 1) % 2_000_000_000) + 2;
}

/** A token's text as a byte-level vocabulary spells it: GPT-2's bytes_to_unicode, one character per byte. */
function byteLevel(token: string): string {
  let spelled = '';
  for (const byte of Buffer.from(token)) spelled += String.fromCodePoint(BYTE_TO_CHAR[byte]!);
  return spelled;
}

const BYTE_TO_CHAR: readonly number[] = (() => {
  const table: number[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174 && byte <= 255);
    table.push(printable ? byte : next++);
  }
  return table;
})();

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  replyText(res, status, JSON.stringify(body), 'application/json');
}

function replyText(res: http.ServerResponse, status: number, text: string, type = 'text/html'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
