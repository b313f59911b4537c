/**
 * The command line: argument parsing, Ctrl-C, and the one `catch` that maps
 * errors to exit codes. Commands are imported lazily, so `--help` is instant.
 */
import { pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { DEFAULT_MAX_REGRESSION } from '../check/baseline.js';
import { ScenarioError } from '../scenario/errors.js';
import { DEFAULT_SWEEP_MAX_CONCURRENCY, DEFAULT_SWEEP_RATES, MAX_WORKERS } from '../types.js';
import { ExitCode, exitCodeHelp, UsageError } from './exit-codes.js';
import { removeUnfinishedOutput } from './files.js';
import { TOKENMETER_VERSION } from './version.js';
import type { Io } from './commands/run.js';
// Types only: quick-scenario.ts loads the YAML parser and zod, which `--help` must not wait for.
import type { QuickFlags, ScenarioSource } from './quick-scenario.js';

/** `--set`, shared by the commands that load a scenario. */
const SET_OPTION = {
  set: {
    type: 'string',
    describe: "Override a scenario field: PATH=VALUE, the value read as YAML (repeatable), e.g. --set load.requests=200 --set 'load.concurrency=[1,4]' --set models[0].tokenizer=llama3",
  },
} as const;

/** The flags of a run without a scenario file (src/cli/quick-scenario.ts). */
const QUICK_OPTIONS = {
  'base-url': { type: 'string', group: 'Quick run (no scenario file):', describe: 'API base URL ending in /v1, or builtin for the built-in simulator' },
  model: { type: 'string', group: 'Quick run (no scenario file):', describe: 'Model to ask for (repeatable)' },
  concurrency: { type: 'string', group: 'Quick run (no scenario file):', describe: 'Closed loop: requests in flight, levels separated by commas, e.g. 1,8 (default 1)' },
  rate: { type: 'string', group: 'Quick run (no scenario file):', describe: 'Open loop instead: arrivals per second, e.g. 2,4' },
  requests: { type: 'string', group: 'Quick run (no scenario file):', describe: 'Measured requests per cell (default 32 unless --duration)' },
  duration: { type: 'string', group: 'Quick run (no scenario file):', describe: 'Measured time per cell, e.g. 30s' },
  api: { type: 'string', group: 'Quick run (no scenario file):', describe: 'chat (default), completions, responses or messages' },
  provider: { type: 'string', group: 'Quick run (no scenario file):', describe: 'generic (default), sambanova, openai, vllm or llamacpp' },
  'api-key-env': { type: 'string', group: 'Quick run (no scenario file):', describe: 'Name of the environment variable holding the API key (the key never goes on the command line)' },
  prompt: { type: 'string', group: 'Quick run (no scenario file):', describe: 'Prompt text (repeatable; default a short-story request)' },
  'max-tokens': { type: 'string', group: 'Quick run (no scenario file):', describe: 'Output cap per request, tokens (default 256)' },
} as const;

/** `run`'s sharding flags (cli/shard-args.ts); each falls back to its environment variable. */
const SHARD_OPTIONS = {
  shard: {
    type: 'string',
    group: 'Sharded runs (many machines; docs/scale-out.md):',
    describe: 'Send the i-th of N disjoint shares of every cell (0-based; default $JOB_COMPLETION_INDEX/$TOKENMETER_SHARDS); cells must be time-bounded (load.duration)',
  },
  'start-at': {
    type: 'string',
    group: 'Sharded runs (many machines; docs/scale-out.md):',
    describe: 'When cell 0 starts on every shard, ISO-8601 with a zone (default $TOKENMETER_START_AT; required with N > 1); cell k starts at it + k × (warm-up time + duration + gap)',
  },
  'shard-gap': {
    type: 'string',
    group: 'Sharded runs (many machines; docs/scale-out.md):',
    describe: 'Pause between cells for requests in flight, token counting and a count-based warm-up, e.g. 10s (default 30s; $TOKENMETER_SHARD_GAP)',
  },
} as const;

/** `run`'s sharding flags as given. */
function shardFlagsOf(args: Record<string, unknown>): { shard?: string; startAt?: string; shardGap?: string } {
  const flags: { shard?: string; startAt?: string; shardGap?: string } = {};
  for (const key of ['shard', 'startAt', 'shardGap'] as const) {
    const value = lastOf(args[key]);
    if (value !== undefined) flags[key] = value;
  }
  return flags;
}

/** A flag given once is a string; given twice, yargs makes a list. */
/** The command line as run.json records it (quick-scenario.ts: `--set`s that touch a secret redacted). */
const redactedArgv = async (argv: readonly string[]): Promise<string[]> => (await import('./quick-scenario.js')).redactArgv(argv);

const listOf = (value: unknown): string[] | undefined => (value === undefined ? undefined : ([] as unknown[]).concat(value).map(String));
const lastOf = (value: unknown): string | undefined => listOf(value)?.at(-1);

/** Where a command's scenario comes from: the positional file, the quick-run flags, the `--set`s. */
function scenarioSourceOf(args: Record<string, unknown>): ScenarioSource {
  const quick: QuickFlags = {};
  const single = ['baseUrl', 'concurrency', 'rate', 'requests', 'duration', 'api', 'provider', 'apiKeyEnv', 'maxTokens'] as const;
  for (const key of single) {
    const value = lastOf(args[key]);
    if (value !== undefined) quick[key] = value;
  }
  for (const key of ['model', 'prompt'] as const) {
    const value = listOf(args[key]);
    if (value !== undefined) quick[key] = value;
  }
  return {
    ...(typeof args.scenario === 'string' ? { scenario: args.scenario } : {}),
    quick,
    set: listOf(args.set) ?? [],
  };
}

export async function main(argv: string[], io: Omit<Io, 'interrupt'> = defaultIo()): Promise<number> {
  const interrupt = installInterruptHandler(io.stderr);
  const fullIo: Io = { ...io, interrupt: interrupt.signal };
  let exitCode: number = ExitCode.OK;
  try {
    let helpOrVersion = '';
    await yargs()
      .scriptName('tokenmeter')
      .usage('$0 <command> [options]\n\nBenchmark streaming LLM inference over OpenAI-compatible APIs, counting every token of every chunk.')
      .command(
        'run [scenario]',
        'Run a scenario: stream completions, measure TTFT/TPOT/ITL/tokens/s, write CSV/JSON/HTML results; exit 99 if a threshold fails.',
        (y) =>
          y
            .positional('scenario', { type: 'string', describe: 'Scenario file (YAML or JSON); or none, with --base-url and --model' })
            .options(SET_OPTION)
            .options(QUICK_OPTIONS)
            .option('out', { type: 'string', describe: 'Output directory (default results/<UTC time>-<name>/); must be new or empty' })
            .option('repeat', { type: 'number', default: 1, describe: 'Run each cell K times: each repeat is kept, and merged with its spread (run-to-run noise)' })
            .option('preflight', { type: 'boolean', default: true, describe: PREFLIGHT_HELP })
            .options(SHARD_OPTIONS)
            .option('workers', { type: 'number', describe: WORKERS_HELP })
            .example('$0 run scenarios/quickstart.yaml', 'Run the quickstart on the built-in simulator')
            .example('$0 run scenarios/ci.yaml --repeat 5', 'See how much the numbers move between identical runs')
            .example('$0 run scenarios/sambanova.yaml --out results/llama-70b', 'Run against SambaNova Cloud into a chosen directory')
            .example('$0 run scenarios/quickstart.yaml --set load.requests=200 --set \'load.concurrency=[1,4]\'', 'Change fields of the file for this run')
            .example('$0 run --base-url http://localhost:8000/v1 --model M --concurrency 1,8 --requests 64', 'A quick run, no scenario file')
            .example('$0 run --base-url https://api.openai.com/v1 --model gpt-4o-mini --api-key-env OPENAI_API_KEY', 'The key read from $OPENAI_API_KEY')
            .example('$0 run --base-url builtin', 'A quick run on the built-in simulator')
            .example('$0 run s.yaml --shard 1/4 --start-at 2030-01-01T12:00:00Z --out results/s-1', 'Shard 1 of 4 (each shard on its machine); then merge the four folders'),
        async (args) => {
          const { runCommand } = await import('./commands/run.js');
          if (!Number.isInteger(args.repeat) || args.repeat < 1) throw new UsageError('--repeat must be a positive integer');
          exitCode = await runCommand(
            {
              ...scenarioSourceOf(args),
              ...(args.out ? { out: args.out } : {}),
              repeat: args.repeat,
              preflight: args.preflight,
              shard: shardFlagsOf(args),
              ...workersOf(args.workers),
              argv: await redactedArgv(argv),
            },
            fullIo,
          );
        },
      )
      .command(
        'capacity [scenario]',
        "Find each model's highest load (concurrency or rate) that meets the scenario's SLO: doubling, then bisection.",
        (y) =>
          y
            .positional('scenario', { type: 'string', describe: 'Scenario file with an slo (and optionally capacity: {start, max, tolerance}); or none, with --base-url, --model and --set slo.…' })
            .options(SET_OPTION)
            .options(QUICK_OPTIONS)
            .option('out', { type: 'string', describe: 'Output directory (default results/<UTC time>-<name>/); must be new or empty' })
            .option('preflight', { type: 'boolean', default: true, describe: PREFLIGHT_HELP })
            .option('workers', { type: 'number', describe: WORKERS_HELP })
            .example('$0 capacity scenarios/capacity.yaml', 'Find the knee of the built-in simulator'),
        async (args) => {
          const { capacityCommand } = await import('./commands/capacity.js');
          exitCode = await capacityCommand(
            { ...scenarioSourceOf(args), ...(args.out ? { out: args.out } : {}), preflight: args.preflight, ...workersOf(args.workers), argv: await redactedArgv(argv) },
            fullIo,
          );
        },
      )
      .command(
        'sweep [scenario]',
        "Sweep each model from one request at a time to its maximum throughput: a synchronous probe (c=1), a throughput probe (c=--max-concurrency), then --rates rates evenly spaced between the request rates they measured; every cell in one results folder and report.",
        (y) =>
          y
            .positional('scenario', { type: 'string', describe: "Scenario file: its load bounds (requests, duration, warm-up) and arrival apply to every cell, its levels are replaced by the sweep's; or none, with --base-url and --model" })
            .options(SET_OPTION)
            .options(QUICK_OPTIONS)
            .option('rates', { type: 'number', describe: `Rates run between the two probes, per model (wins over sweep.rates; default ${DEFAULT_SWEEP_RATES})` })
            .option('max-concurrency', {
              type: 'number',
              describe: `Requests in flight in the throughput probe, at least 2 (wins over sweep.maxConcurrency; default the highest load.concurrency if above 1, else ${DEFAULT_SWEEP_MAX_CONCURRENCY})`,
            })
            .option('out', { type: 'string', describe: 'Output directory (default results/<UTC time>-<name>/); must be new or empty' })
            .option('repeat', { type: 'number', hidden: true })
            .option('preflight', { type: 'boolean', default: true, describe: PREFLIGHT_HELP })
            .option('workers', { type: 'number', describe: WORKERS_HELP })
            .example('$0 sweep scenarios/sweep.yaml', 'Sweep the built-in simulator: 2 probes and 4 rates')
            .example('$0 sweep scenarios/quickstart.yaml --rates 5 --max-concurrency 64', 'Five rates between c=1 and c=64'),
        async (args) => {
          const { sweepCommand } = await import('./commands/sweep.js');
          if (args.repeat !== undefined) {
            throw new UsageError(
              "sweep takes no --repeat: each sweep plans its rates from its own probes, so two sweeps' rate cells differ and cannot merge as repeats; run sweep again, or run the rates it chose with run --repeat",
            );
          }
          if (args.rates !== undefined && (!Number.isInteger(args.rates) || args.rates < 1)) throw new UsageError('--rates must be a positive integer');
          if (args.maxConcurrency !== undefined && (!Number.isInteger(args.maxConcurrency) || args.maxConcurrency < 2)) {
            throw new UsageError('--max-concurrency must be an integer of at least 2 (the synchronous probe is c=1)');
          }
          exitCode = await sweepCommand(
            {
              ...scenarioSourceOf(args),
              ...(args.out ? { out: args.out } : {}),
              ...(args.rates !== undefined ? { rates: args.rates } : {}),
              ...(args.maxConcurrency !== undefined ? { maxConcurrency: args.maxConcurrency } : {}),
              preflight: args.preflight,
              ...workersOf(args.workers),
              argv: await redactedArgv(argv),
            },
            fullIo,
          );
        },
      )
      .command(
        'check [results]',
        'Judge a results folder against a baseline, rule by rule and cell by cell: exit 99 on a regression beyond the margin and beyond the noise, 97 when a verdict is inconclusive. --plan BASELINE: the requests per cell a check needs.',
        (y) =>
          y
            .positional('results', { type: 'string', describe: 'The results folder to judge' })
            .option('baseline', { type: 'string', describe: 'The results folder to compare with (a run of the same scenario)' })
            .option('plan', { type: 'string', describe: 'Instead of judging: from this baseline folder\'s spread, the requests per cell each rule needs for 95% power at twice its margin' })
            .option('max-regression', {
              type: 'string',
              describe: `Allowed worsening per metric, METRIC.pNN=N%, errors.rate=N% (points), slo.share=N% (points; judged when the scenario has an SLO), separated by commas (default ${DEFAULT_MAX_REGRESSION}). A p50 is judged by a Hodges–Lehmann shift, another percentile by its order-statistic interval, a share by Newcombe's interval (docs/ci.md)`,
            })
            .option('confidence', { type: 'number', default: 0.95, describe: 'One-sided confidence of each bound (a regression: the lower bound beyond the margin; ok: the upper bound within it)' })
            .option('inconclusive', { choices: ['code', 'pass', 'fail'] as const, default: 'code' as const, describe: 'An inconclusive verdict (interval too wide, or a cell invalid or short) exits 97 (code), 0 (pass) or 99 (fail)' })
            .option('allow-different', { type: 'boolean', default: false, describe: 'Judge folders whose scenarios differ (models, params, prompts, tokenizers, load levels)' })
            .example('$0 check results/pr --baseline results/baselines/ci', 'Fail if TTFT or TPOT (p50 by >5%, p95 by >10%), decode tokens/s or the error rate got worse, beyond the noise')
            .example('$0 check --plan results/baselines/ci', 'How many requests per cell the default rules need')
            .example('$0 check results/new --baseline results/old --max-regression ttft.p99=5%', 'A tighter gate on TTFT p99 only'),
        async (args) => {
          const { checkCommand } = await import('./commands/check.js');
          exitCode = await checkCommand(
            {
              ...(args.results !== undefined ? { results: args.results } : {}),
              ...(args.baseline !== undefined ? { baseline: args.baseline } : {}),
              ...(args.plan !== undefined ? { plan: args.plan } : {}),
              confidence: args.confidence,
              inconclusive: args.inconclusive,
              allowDifferent: args.allowDifferent,
              ...(args.maxRegression ? { maxRegression: args.maxRegression } : {}),
            },
            fullIo,
          );
        },
      )
      .command(
        'compare <results..>',
        'Put the models of one run, or of several runs, side by side per load level: a per-model summary, then each difference with its interval, p-value and sample size; a winner marked only where the difference is significant, ~ where it is noise.',
        (y) =>
          y
            .positional('results', { type: 'string', array: true, demandOption: true, describe: 'Results folders (one with several models, or several)' })
            .option('label', {
              type: 'string',
              array: true,
              describe: 'Rename a contender, OLD=NEW: OLD its name as compare would print it (the model, or run/model) or its position 1, 2…; repeatable',
            })
            .option('out', { type: 'string', describe: 'Output directory for compare.md and compare.html (default results/<UTC time>-compare/)' })
            .example('$0 compare results/sambanova-run', 'The models of one run, side by side')
            .example('$0 compare results/vllm-0.6 results/vllm-0.7', 'Two builds of a server, side by side')
            .example('$0 compare results/a results/b --label 1=before --label 2=after', 'The same, the contenders renamed'),
        async (args) => {
          const { compareCommand } = await import('./commands/compare.js');
          exitCode = await compareCommand(
            { results: args.results as string[], ...(args.label ? { labels: args.label as string[] } : {}), ...(args.out ? { out: args.out } : {}) },
            fullIo,
          );
        },
      )
      .command(
        'merge <results..>',
        "Merge results folders of one scenario into one: a sharded run's shards (histograms of the union, exactly; windows from absolute times), or whole runs as repeats.",
        (y) =>
          y
            .positional('results', { type: 'string', array: true, demandOption: true, describe: 'Results folders written by run (the shards of one run, or runs of one scenario)' })
            .option('out', { type: 'string', demandOption: true, describe: 'Output directory for the merged folder; must be new or empty' })
            .option('allow-incomplete', {
              type: 'boolean',
              default: false,
              describe: 'Merge runs that did not complete, and shard sets with shards missing; the merged run.json then says completed: false',
            })
            .example('$0 merge results/s-0 results/s-1 results/s-2 --out results/s', 'The three shards of one run (run --shard i/3) as one run')
            .example('$0 merge results/monday results/tuesday --out results/both', 'Two whole runs of one scenario as two repeats'),
        async (args) => {
          const { mergeCommand } = await import('./commands/merge.js');
          exitCode = await mergeCommand(
            { results: args.results as string[], out: args.out, allowIncomplete: args.allowIncomplete, argv: await redactedArgv(argv) },
            fullIo,
          );
        },
      )
      .command(
        'report <results>',
        "Rebuild a results folder's report.html from its summary.json, histograms.json and run.json.",
        (y) =>
          y
            .positional('results', { type: 'string', demandOption: true, describe: 'A results folder written by run, capacity or sweep' })
            .example('$0 report results/20261126T100000Z-quickstart', "Rewrite that run's report.html"),
        async (args) => {
          const { reportCommand } = await import('./commands/report.js');
          exitCode = await reportCommand(args.results, fullIo);
        },
      )
      .command(
        'validate <scenarios..>',
        'Check scenario files and report every problem, without sending anything.',
        (y) =>
          y
            .positional('scenarios', { type: 'string', array: true, demandOption: true, describe: 'Scenario files' })
            .options(SET_OPTION)
            .option('strict', { type: 'boolean', default: false, describe: 'An unset ${VAR} is an error (exit 2), as run treats it, not a warning' })
            .example('$0 validate scenarios/*.yaml', 'Check every example scenario (an unset ${VAR} is a warning)')
            .example('$0 validate --strict scenarios/sambanova.yaml', 'Also fail if SAMBANOVA_API_KEY is not set, as run would')
            .example('$0 validate scenarios/quickstart.yaml --set load.rate=2', 'Check a change before making it'),
        async (args) => {
          const { validateCommand } = await import('./commands/validate.js');
          exitCode = await validateCommand(args.scenarios as string[], fullIo, { strict: args.strict, overrides: listOf(args.set) ?? [] });
        },
      )
      .command(
        'sim',
        'Run the built-in OpenAI-compatible simulator as a standalone server.',
        (y) =>
          y
            .option('port', { type: 'number', default: 8000, describe: 'Port to listen on (0 picks a free one)' })
            .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' })
            .option('scenario', { type: 'string', describe: "Take per-model settings from this scenario's target.simulator" })
            .option('api-key', { type: 'string', describe: 'Require this bearer token (to test auth errors)' })
            .example('$0 sim --port 8000', 'Serve http://127.0.0.1:8000/v1/chat/completions')
            .example('$0 sim --scenario scenarios/quickstart.yaml', "Serve with the quickstart's model profiles"),
        async (args) => {
          const { simCommand } = await import('./commands/sim.js');
          exitCode = await simCommand(
            {
              port: args.port,
              host: args.host,
              ...(args.scenario ? { scenario: args.scenario } : {}),
              ...(args.apiKey ? { apiKey: args.apiKey } : {}),
            },
            fullIo,
          );
        },
      )
      .example('$0 run scenarios/quickstart.yaml', 'Benchmark the built-in simulator with the quickstart scenario')
      .epilogue(exitCodeHelp())
      .demandCommand(1, 'Name a command: run, capacity, sweep, check, compare, merge, report, validate or sim (see --help).')
      .strict()
      .help()
      .version('version', 'Show the version number', TOKENMETER_VERSION)
      .exitProcess(false)
      .fail((message, error) => {
        if (error) throw error;
        throw new UsageError(message);
      })
      // With a callback yargs hands --help and --version text back instead of printing it and exiting.
      .parseAsync(argv, {}, (_error, _args, output) => {
        helpOrVersion = output;
      });
    if (helpOrVersion) io.stdout.write(`${helpOrVersion}\n`);
  } catch (error) {
    exitCode = reportError(error, io.stderr);
  } finally {
    interrupt.dispose();
  }
  return exitCode;
}

const WORKERS_HELP =
  'Threads that send and read the load, each owning a share of every cell (wins over load.workers; default: one per available core minus one, at least one); 1 sends from the main thread';

/** `--workers N`: a positive integer, or not given. */
function workersOf(value: number | undefined): { workers?: number } {
  if (value === undefined) return {};
  if (!Number.isInteger(value) || value < 1 || value > MAX_WORKERS) throw new UsageError(`--workers must be an integer from 1 to ${MAX_WORKERS}`);
  return { workers: value };
}

const PREFLIGHT_HELP =
  'Send one request per model first; a wrong key, URL or model (401/403/404/400) or a refused connection stops the run at once, exit 1 (--no-preflight skips it)';

/** The one place errors become exit codes. Config problems print without a stack trace. */
function reportError(error: unknown, stderr: NodeJS.WritableStream): number {
  if (error instanceof ScenarioError) {
    stderr.write(`${error.problems.join('\n')}\n`);
    return ExitCode.CONFIG_ERROR;
  }
  if (error instanceof UsageError) {
    stderr.write(`tokenmeter: ${error.message}\n`);
    return ExitCode.CONFIG_ERROR;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`tokenmeter: ${message}\n`);
  if (process.env.TOKENMETER_DEBUG && error instanceof Error) stderr.write(`${error.stack}\n`);
  return ExitCode.RUN_FAILED;
}

/**
 * First Ctrl-C: stop sending and write what was gathered. Second: quit at
 * once, leaving no temporary file (and no empty folder) behind.
 */
export function installInterruptHandler(
  stderr: NodeJS.WritableStream,
  exit: (code: number) => void = (code) => process.exit(code),
  signals: Pick<NodeJS.EventEmitter, 'on' | 'off'> = process,
) {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) {
      removeUnfinishedOutput();
      exit(ExitCode.INTERRUPTED);
      return;
    }
    stderr.write('\nstopping (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      signals.off('SIGINT', onSignal);
      signals.off('SIGTERM', onSignal);
    },
  };
}

function defaultIo(): Omit<Io, 'interrupt'> {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
