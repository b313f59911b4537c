import type { SimConfig, SimModelProfile } from '../types.js';

/**
 * A profile in the range of a fast hosted 70B deployment: ~150 ms TTFT,
 * 200 tokens/s per stream, several tokens per chunk as SambaNova sends them.
 */
export const DEFAULT_SIM_PROFILE: SimModelProfile = {
  ttftMs: 150,
  tokensPerSecond: 200,
  tokensPerChunk: [1, 4],
  outputTokens: [64, 128],
  capacity: 16,
  usageExtraTokens: 0,
};

export const DEFAULT_SIM_CONFIG: SimConfig = { seed: 1, defaults: DEFAULT_SIM_PROFILE, models: {} };

export function profileFor(config: SimConfig, model: string): SimModelProfile {
  return config.models[model] ?? config.defaults;
}
