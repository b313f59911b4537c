/**
 * One adapter per API (chat, completions, responses, messages) behind one
 * interface: how its request is built (in its SDK's shape) and sent, how its event
 * stream is read, and where its server reports its own timings. The client
 * knows none of this. Adding an API is one file in apis/ and one line in
 * ADAPTERS; a server's quirk touches its API's file only.
 */
import type { ApiName, ChatMessage, OutputChunk, Usage } from '../types.js';
import { chatAdapter } from './apis/chat.js';
import { completionsAdapter } from './apis/completions.js';
import { messagesAdapter } from './apis/messages.js';
import { responsesAdapter } from './apis/responses.js';
import type { StreamEvents } from './event-reader.js';
import type { RequestProbe } from './timed-fetch.js';

/** How an adapter reaches its server: one per ChatClient. */
export interface SdkConnection {
  /** The server's OpenAI-style base URL, usually ending in /v1. */
  baseURL: string;
  /** The API key; a placeholder for servers without auth, since the SDKs insist on one. */
  apiKey: string;
  /** Extra headers on every request. */
  headers: Record<string, string>;
  /** The timed transport: every request of every API goes through it. */
  fetch: typeof globalThis.fetch;
}

/** One request, as the client hands it to an adapter. */
export interface AdapterRequest {
  /** Sent as the `x-tokenmeter-request-id` header. */
  id: string;
  model: string;
  messages: readonly ChatMessage[];
  /** The scenario's body parameters, passed through as written. */
  params: Record<string, unknown>;
  /** Travels to the timed fetch: the body's sink, the stamps, the abort. */
  probe: RequestProbe;
}

/** The server's own view of one request (kept beside the client's, never mixed in), ms. */
export interface ServerTimings {
  ttftMs?: number;
  e2eMs?: number;
}

/** A non-2xx response, as the SDK's error reports it. */
export interface HttpError {
  status: number;
  message: string;
}

/** What a whole (non-streamed) JSON body holds: its output and usage, or why it is not a response of the API. */
export type WholeResponse = { chunks: OutputChunk[]; usage: Usage | undefined } | { failure: string };

export interface ApiAdapter {
  /**
   * Builds the streamed request and sends it as the API's SDK would. Resolves
   * once a 2xx response's headers arrived (its body then goes to the probe's
   * sink); rejects with the SDK's error otherwise.
   */
  send(request: AdapterRequest): Promise<Response>;
  /** A reader for one response's event stream: timed chunks, usage, the final event. */
  newReader(): StreamEvents;
  /** The server's own timings in a final usage block, converted to ms; empty when it sent none. */
  serverTimingsOf(usage: Usage): ServerTimings;
  /** The status and message of the SDK's error for a non-2xx response; undefined for any other failure. */
  httpErrorOf(error: unknown): HttpError | undefined;
  /** Only for an API that can answer without streaming (`params.stream: false`); the others always stream. */
  readonly whole?: {
    /** As `send`, for a response that arrives as one JSON body. */
    send(request: AdapterRequest): Promise<Response>;
    /** The output of the parsed body, every chunk stamped `at`, the end of the body (ms): a whole body has no per-chunk times. */
    read(body: unknown, at: number): WholeResponse;
  };
}

/** Every API's adapter, by the name a scenario uses. */
const ADAPTERS: Record<ApiName, (connection: SdkConnection) => ApiAdapter> = {
  chat: chatAdapter,
  completions: completionsAdapter,
  responses: responsesAdapter,
  messages: messagesAdapter,
};

/** The adapter of an API, with its SDK client set up to reach the server. */
export function adapterFor(api: ApiName, connection: SdkConnection): ApiAdapter {
  return ADAPTERS[api](connection);
}
