/**
 * What each model of a scenario is sent: its prompts (synthetic prompts are
 * built to exact lengths in the model's tokenizer), the tokenizer that counts
 * its output, and the body parameters of each request. Everything here is
 * prepared before the first request, so nothing loads between cells.
 */
import { FALLBACK_TOKENIZER, loadTokenizer, loadTokenizerFile, TokenizerFileError, tokenizerForModelName, type Tokenizer } from '../metrics/tokenizers.js';
import { ScenarioError } from '../scenario/load.js';
import { TOKENIZER_FILE_PATTERN } from '../scenario/schema.js';
import { outputLengthParams } from '../scenario/providers.js';
import type { ModelSpec, Prompt, Scenario, TokenizerName } from '../types.js';
import { buildSyntheticPrompts } from './synthetic-prompts.js';

export interface ModelWorkload {
  model: ModelSpec;
  tokenizer: Tokenizer;
  /** The tokenizer is the named fallback, not the model's own (its counts are approximate). */
  fallback: boolean;
  prompts: Prompt[];
}

/** Loads every model's tokenizer and builds its prompts; warnings (a fallback tokenizer) go to `warnings`. */
export async function prepareWorkloads(scenario: Scenario, warnings: string[]): Promise<ModelWorkload[]> {
  // Synthetic prompts depend only on the tokenizer (and the seed): models that share one share them.
  const synthetic = new Map<Tokenizer, Prompt[]>();
  return Promise.all(
    scenario.models.map(async (model, i): Promise<ModelWorkload> => {
      const { tokenizer, fallback } = await tokenizerFor(model, warnings).catch((error: unknown) => {
        throw error instanceof TokenizerFileError ? new ScenarioError(scenario.file, [tokenizerProblem(scenario, i, error)]) : error;
      });
      if (!Array.isArray(scenario.prompts) && !synthetic.has(tokenizer)) {
        synthetic.set(tokenizer, buildSyntheticPrompts(scenario.prompts, tokenizer, scenario.seed));
      }
      const prompts = Array.isArray(scenario.prompts) ? scenario.prompts : synthetic.get(tokenizer)!;
      return { model, tokenizer, fallback, prompts };
    }),
  );
}

/**
 * Loads every tokenizer file of a scenario (tokenizer.json, GGUF), so that a
 * malformed one is a scenario error naming the file and the field, found by
 * `validate` and before a run starts. Loaded files are kept: the run does not load them again.
 */
export async function checkTokenizerFiles(scenario: Scenario): Promise<void> {
  const problems = await Promise.all(
    scenario.models.map(async (model, i) => {
      if (model.tokenizer === undefined || !TOKENIZER_FILE_PATTERN.test(model.tokenizer)) return [];
      try {
        await loadTokenizerFile(model.tokenizer);
        return [];
      } catch (error) {
        if (error instanceof TokenizerFileError) return [tokenizerProblem(scenario, i, error)];
        throw error;
      }
    }),
  );
  if (problems.flat().length > 0) throw new ScenarioError(scenario.file, problems.flat());
}

function tokenizerProblem(scenario: Scenario, modelIndex: number, error: TokenizerFileError): string {
  return `${scenario.file}: models[${modelIndex}].tokenizer: ${error.message}`;
}

async function tokenizerFor(model: ModelSpec, warnings: string[]): Promise<{ tokenizer: Tokenizer; fallback: boolean }> {
  if (model.tokenizer !== undefined && TOKENIZER_FILE_PATTERN.test(model.tokenizer)) return { tokenizer: await loadTokenizerFile(model.tokenizer), fallback: false };
  const name = (model.tokenizer as TokenizerName | undefined) ?? tokenizerForModelName(model.name);
  if (name !== undefined) return { tokenizer: await loadTokenizer(name), fallback: false };
  warnings.push(
    `no tokenizer known for model "${model.name}": counting with the fallback ${FALLBACK_TOKENIZER} tokenizer ` +
      `(reconciled with the server's usage where it reports it); set models[].tokenizer to choose one`,
  );
  return { tokenizer: await loadTokenizer(FALLBACK_TOKENIZER), fallback: true };
}

/**
 * The body parameters of one request: the scenario's, the model's over them,
 * and the prompt's own output length over both: a cap (a JSONL line's
 * max_tokens), or, for synthetic prompts, an exact length, with
 * ignore_eos/min_tokens where the provider takes them (the built-in simulator does).
 */
export function requestParams(scenario: Scenario, workload: ModelWorkload, prompt: number): Record<string, unknown> {
  const maxTokens = workload.prompts[prompt]!.maxTokens;
  const base = { ...scenario.params, ...workload.model.params };
  if (maxTokens === undefined) return base;
  const { target } = scenario;
  const provider = target.baseURL === 'builtin' ? 'vllm' : target.provider;
  const exact = !Array.isArray(scenario.prompts);
  const params = exact ? outputLengthParams(provider, maxTokens) : { max_tokens: maxTokens };
  if (target.api !== 'responses') return { ...base, ...params };
  const { max_tokens: cap, ...rest } = params;
  return { ...base, ...rest, max_output_tokens: cap };
}
