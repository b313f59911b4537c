/** The `openai` SDK, as the chat, completions and responses adapters use it: it describes their requests and errors. */
import OpenAI, { APIError } from 'openai';
import type { HttpError, SdkConnection } from '../api-adapter.js';
import { sdkSettings } from './common.js';
import { sdkSender, type SdkSender } from './sdk-sender.js';

/** One SDK client per ChatClient, with the settings every SDK gets; requests go out through sdk-sender.ts. */
export function openAiSender(connection: SdkConnection): SdkSender {
  const sdk = new OpenAI({ baseURL: connection.baseURL, ...sdkSettings(connection) });
  return sdkSender(sdk, (status, body, message, headers) => APIError.generate(status, body, message, headers), connection);
}

/** The status and message of the SDK's error for a non-2xx response. */
export function openAiHttpError(error: unknown): HttpError | undefined {
  return error instanceof APIError && typeof error.status === 'number' ? { status: error.status, message: error.message } : undefined;
}
