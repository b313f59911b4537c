import { DEFAULT_SIM_PROFILE, type SimConfig, type SimModelProfile } from '../types.js';

export { DEFAULT_SIM_PROFILE };

export const DEFAULT_SIM_CONFIG: SimConfig = { seed: 1, defaults: DEFAULT_SIM_PROFILE, models: {} };

export function profileFor(config: SimConfig, model: string): SimModelProfile {
  return config.models[model] ?? config.defaults;
}
