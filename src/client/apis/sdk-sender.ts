/**
 * Sends requests as their SDK would, without the SDK's per-request cost.
 *
 * Measured (bench/results.md, issue 10): building and handing over one request
 * through the openai SDK costs ~40 µs of the client's only thread against ~1 µs
 * for a JSON body and a headers object; at 512 streams a closed loop's wave of
 * requests then took 50–220 ms to go out against 17–84 ms for a minimal
 * node:http client, and every first chunk that arrived meanwhile was stamped
 * late (TTFT error p99 ~140 ms against ~30 ms). So the SDK stays where it
 * costs nothing: it describes each API path once (its URL and every header it
 * sends: auth, API version, user agent, the scenario's headers), and it builds
 * the error of a non-2xx response exactly as it would have. tokenmeter writes
 * each request with that URL and those headers, the request-id header and its
 * JSON body, through the timed fetch.
 */
import type { AdapterRequest, SdkConnection } from '../api-adapter.js';
import { PROBE_OPTION } from '../timed-fetch.js';
import { REQUEST_ID_HEADER } from './common.js';

/** What tokenmeter asks of an SDK client (openai's and Anthropic's both have it). */
export interface DescribingSdk {
  buildRequest(options: { method: 'post'; path: string; body: object }): Promise<{ url: string; req: { headers?: HeadersInit } }>;
}

/** The SDK's error for a non-2xx response: its `APIError.generate`. */
export type StatusErrorFactory = (status: number, body: Object | undefined, message: string | undefined, headers: Headers) => Error;

export interface SdkSender {
  /** POSTs `body` (already shaped as the SDK's request type) to `path`; resolves on a 2xx, throws the SDK's error otherwise. */
  post(path: string, body: object, request: AdapterRequest): Promise<Response>;
}

interface RequestTemplate {
  url: string;
  headers: Record<string, string>;
}

export function sdkSender(sdk: DescribingSdk, statusError: StatusErrorFactory, connection: SdkConnection): SdkSender {
  const templates = new Map<string, Promise<RequestTemplate>>();
  const templateOf = (path: string): Promise<RequestTemplate> => {
    let template = templates.get(path);
    if (!template) {
      template = describeRequest(sdk, path);
      templates.set(path, template);
    }
    return template;
  };
  return {
    async post(path, body, request) {
      const { url, headers } = await templateOf(path);
      const init = { method: 'POST', headers: { ...headers, [REQUEST_ID_HEADER]: request.id }, body: JSON.stringify(body), [PROBE_OPTION]: request.probe };
      const response = await connection.fetch(url, init);
      if (response.ok) return response;
      // As the SDKs do it: the error body's JSON, or its text as the message.
      const text = await response.text();
      const json = parseJson(text);
      throw statusError(response.status, json as Object | undefined, json ? undefined : text, response.headers);
    },
  };
}

/** The URL and headers the SDK would send to `path`, asked once: they do not change between requests. */
async function describeRequest(sdk: DescribingSdk, path: string): Promise<RequestTemplate> {
  const { url, req } = await sdk.buildRequest({ method: 'post', path, body: {} });
  const headers: Record<string, string> = {};
  new Headers(req.headers).forEach((value, name) => (headers[name] = value));
  // The timed fetch sets the length of each body.
  delete headers['content-length'];
  return { url, headers };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
