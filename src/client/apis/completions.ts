/**
 * Legacy `POST /v1/completions`: one prompt made of the messages' texts; its
 * events are chat's chunk format with the text on the choice, read by chat's reader.
 */
import type OpenAI from 'openai';
import type { AdapterRequest, ApiAdapter, SdkConnection } from '../api-adapter.js';
import { ChatEventReader } from './chat.js';
import { splitStreamOptions, usageBlockTimings, withUsage } from './common.js';
import { openAiHttpError, openAiSender } from './openai-sdk.js';

/** The legacy completions API's adapter. */
export function completionsAdapter(connection: SdkConnection): ApiAdapter {
  const sdk = openAiSender(connection);
  return {
    send(request: AdapterRequest) {
      const { params, streamOptions } = splitStreamOptions(request.params);
      const prompt = request.messages.map((message) => message.content).join('\n\n');
      const body = { ...params, model: request.model, prompt, stream: true, stream_options: withUsage(streamOptions) };
      // The scenario's params are passed through unchecked: the SDK's types cannot know them.
      return sdk.post('/completions', body as OpenAI.CompletionCreateParamsStreaming, request);
    },
    newReader: () => new ChatEventReader(),
    serverTimingsOf: usageBlockTimings,
    httpErrorOf: openAiHttpError,
  };
}
