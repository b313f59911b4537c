/** The `openai` SDK, as the chat, completions and responses adapters use it. */
import OpenAI, { APIError } from 'openai';
import type { AdapterRequest, HttpError, SdkConnection } from '../api-adapter.js';
import { PROBE_OPTION } from '../timed-fetch.js';
import { REQUEST_ID_HEADER, sdkSettings } from './common.js';

/** One SDK client per ChatClient, with the settings every SDK gets. */
export function openAiClient(connection: SdkConnection): OpenAI {
  return new OpenAI({ baseURL: connection.baseURL, ...sdkSettings(connection) });
}

/** Per-request options: the id header, and the probe for the timed fetch. */
export function openAiRequestOptions(request: AdapterRequest): OpenAI.RequestOptions {
  return {
    headers: { [REQUEST_ID_HEADER]: request.id },
    // The SDK hands fetchOptions to our fetch untouched; its type does not know the probe's key.
    fetchOptions: { [PROBE_OPTION]: request.probe } as NonNullable<OpenAI.RequestOptions['fetchOptions']>,
  };
}

/** The status and message of the SDK's error for a non-2xx response. */
export function openAiHttpError(error: unknown): HttpError | undefined {
  return error instanceof APIError && typeof error.status === 'number' ? { status: error.status, message: error.message } : undefined;
}
