/**
 * What each model of a scenario is sent: its prompts (synthetic prompts are
 * built to exact lengths in the model's tokenizer), the tokenizer that counts
 * its output, and the body parameters of each request. Everything here is
 * prepared before the first request, so nothing loads between cells.
 */
import { FALLBACK_TOKENIZER, loadTokenizer, loadTokenizerFile, TokenizerFileError, tokenizerForModelName, type Tokenizer } from '../metrics/tokenizers.js';
import { ScenarioError } from '../scenario/load.js';
import { outputLengthParams, PROVIDERS } from '../scenario/providers.js';
import { TOKENIZER_FILE_PATTERN } from '../scenario/schema.js';
import { SERVER_TOKENIZER, type DatasetPrompts, type ModelSpec, type Prompt, type Scenario, type TokenizerName } from '../types.js';
import type { SessionCursor } from './closed-loop.js';
import { ServerTokenizer } from './server-tokenizer.js';
import { selectDatasetPrompts } from './dataset-prompts.js';
import { buildSyntheticPrompts, buildTracePrompts } from './synthetic-prompts.js';

export interface ModelWorkload {
  model: ModelSpec;
  /**
   * The local tokenizer: it builds synthetic prompts, and counts every request the server tokenizer
   * (when there is one) did not: with `server`, that is the named fallback.
   */
  tokenizer: Tokenizer;
  /** `tokenizer` is the named fallback, not the model's own (its counts are approximate). */
  fallback: boolean;
  /** `tokenizer: server`: the server's tokenize endpoint, asked after each cell; `tokenizer` is the next source. */
  server?: ServerTokenizer;
  prompts: Prompt[];
  /** Multi-turn sessions: how many this process has started for the model, across the run's cells. */
  sessions: SessionCursor;
}

/** Where the server tokenizer asks, and how it authenticates, as the chat requests do. */
export interface ServerTokenizerTarget {
  /** The URL requests go to (the simulator's address for builtin). */
  baseURL: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Loads every model's tokenizer and builds its prompts; warnings (a fallback tokenizer) go to `warnings`. */
export async function prepareWorkloads(scenario: Scenario, warnings: string[], target: ServerTokenizerTarget): Promise<ModelWorkload[]> {
  // Synthetic and dataset prompts depend only on the tokenizer (and the seed): models that share one share them.
  const built = new Map<Tokenizer, Prompt[]>();
  const { prompts: spec } = scenario;
  if ('dataset' in spec && spec.skipped > 0) {
    warnings.push(`${spec.file}: ${spec.skipped} conversation(s) without a human turn to send were left out`);
  }
  const workloads = await Promise.all(
    scenario.models.map(async (model, i): Promise<ModelWorkload> => {
      const { tokenizer, fallback, server } = await tokenizerFor(model, scenario, warnings, target).catch((error: unknown) => {
        throw error instanceof TokenizerFileError ? new ScenarioError(scenario.file, [tokenizerProblem(scenario, i, error)]) : error;
      });
      if (!Array.isArray(spec) && !built.has(tokenizer)) {
        built.set(
          tokenizer,
          'dataset' in spec
            ? selectDatasetPrompts(spec, tokenizer, scenario.seed)
            : 'trace' in spec
              ? buildTracePrompts(spec.lines, tokenizer, scenario.seed)
              : buildSyntheticPrompts(spec, tokenizer, scenario.seed),
        );
      }
      const prompts = Array.isArray(spec) ? spec : built.get(tokenizer)!;
      return { model, tokenizer, fallback, prompts, sessions: { started: 0 }, ...(server ? { server } : {}) };
    }),
  );
  if ('dataset' in spec) checkDatasetSelections(scenario, spec, workloads, warnings);
  return workloads;
}

/** A model left without prompts by the filters is a scenario error; fewer than the limit, a warning. */
function checkDatasetSelections(scenario: Scenario, spec: DatasetPrompts, workloads: ModelWorkload[], warnings: string[]): void {
  const empty = workloads.filter((workload) => workload.prompts.length === 0);
  if (empty.length > 0) {
    throw new ScenarioError(
      scenario.file,
      empty.map(
        ({ model, tokenizer }) =>
          `${scenario.file}: prompts: no entry of ${spec.file} passes the length filters in the ${tokenizer.name} tokenizer of model "${model.name}"`,
      ),
    );
  }
  if (spec.limit === undefined) return;
  for (const { model, prompts } of workloads) {
    if (prompts.length < spec.limit) warnings.push(`prompts.limit is ${spec.limit}, but only ${prompts.length} entries of ${spec.file} pass the filters for model "${model.name}"`);
  }
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

async function tokenizerFor(
  model: ModelSpec,
  scenario: Scenario,
  warnings: string[],
  target: ServerTokenizerTarget,
): Promise<{ tokenizer: Tokenizer; fallback: boolean; server?: ServerTokenizer }> {
  if (model.tokenizer !== undefined && TOKENIZER_FILE_PATTERN.test(model.tokenizer)) return { tokenizer: await loadTokenizerFile(model.tokenizer), fallback: false };
  const named = model.tokenizer === SERVER_TOKENIZER ? undefined : ((model.tokenizer as TokenizerName | undefined) ?? tokenizerForModelName(model.name));
  if (named !== undefined) return { tokenizer: await loadTokenizer(named), fallback: false };
  // No local tokenizer: the server's own, where the provider has a tokenize endpoint (or it was asked for).
  // The built-in simulator has a tokenize endpoint (vLLM's format) that knows its own tokens exactly.
  const format = PROVIDERS[scenario.target.provider].tokenizeFormat ?? (scenario.target.baseURL === 'builtin' ? 'vllm' : undefined);
  if (model.tokenizer === SERVER_TOKENIZER || format !== undefined) {
    const server = new ServerTokenizer(model.name, `the fallback ${FALLBACK_TOKENIZER} tokenizer`, {
      baseURL: target.baseURL,
      format: format ?? 'vllm',
      ...(scenario.target.apiKey !== undefined ? { apiKey: scenario.target.apiKey } : {}),
      headers: scenario.target.headers,
      ...(target.fetch ? { fetch: target.fetch } : {}),
    });
    return { tokenizer: await loadTokenizer(FALLBACK_TOKENIZER), fallback: true, server };
  }
  warnings.push(
    `no tokenizer known for model "${model.name}": counting with the fallback ${FALLBACK_TOKENIZER} tokenizer ` +
      `(reconciled with the server's usage where it reports it); set models[].tokenizer to choose one`,
  );
  return { tokenizer: await loadTokenizer(FALLBACK_TOKENIZER), fallback: true };
}

/** Body parameters that set an output length: in the scenario's or model's params, they win over a reference answer's length. */
const OUTPUT_LENGTH_PARAMS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

/**
 * The body parameters of one request: the scenario's, the model's over them,
 * and the prompt's own output length over both: a cap (a JSONL line's
 * max_tokens), or, for synthetic prompts, an exact length, with
 * ignore_eos/min_tokens where the provider takes them (the built-in simulator does).
 * A dataset's reference answer length is a cap too, sent only when neither
 * params sets an output length. `turn` (1-based) picks a session's turn.
 */
export function requestParams(scenario: Scenario, workload: ModelWorkload, prompt: number, turn = 1): Record<string, unknown> {
  const { exactOutput } = workload.prompts[prompt]!;
  // A session's later turn has its own output length (a synthetic draw, a reference answer's).
  const { maxTokens: ownMaxTokens, referenceTokens } = turn === 1 ? workload.prompts[prompt]! : workload.prompts[prompt]!.followUps![turn - 2]!;
  const base = { ...scenario.params, ...workload.model.params };
  // A length the scenario sets is a choice for this run; a reference answer's is only the dataset's default.
  const maxTokens = ownMaxTokens ?? (OUTPUT_LENGTH_PARAMS.some((key) => base[key] !== undefined) ? undefined : referenceTokens);
  if (maxTokens === undefined) return base;
  const { target } = scenario;
  const provider = target.baseURL === 'builtin' ? 'vllm' : target.provider;
  const exact = exactOutput === true || (!Array.isArray(scenario.prompts) && 'synthetic' in scenario.prompts);
  const params = exact ? outputLengthParams(provider, maxTokens) : { max_tokens: maxTokens };
  if (target.api !== 'responses') return { ...base, ...params };
  const { max_tokens: cap, ...rest } = params;
  return { ...base, ...rest, max_output_tokens: cap };
}
