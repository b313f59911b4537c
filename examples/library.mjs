// tokenmeter as a library: start the built-in simulator, run a small scenario
// against it, print one line per cell. Run it with `node examples/library.mjs`
// (in this repository, after `npm ci`, which builds dist/) or from any project
// that has installed tokenmeter.
import { parseScenario, runScenario, startSimulatorThread } from 'tokenmeter';

const scenario = parseScenario(
  `
name: library-example
target:
  baseURL: builtin
  simulator:
    seed: 7
    defaults: {ttftMs: 20, tokensPerSecond: 1000, tokensPerChunk: 3, outputTokens: 30, capacity: 8}
models: [example-model]
load: {concurrency: [2], requests: 8}
prompts: ["Why is the sky blue?"]
params: {max_tokens: 64}
`,
  'library-example.yaml',
);

// The simulator on its own thread, as `tokenmeter run` starts it, so that
// serving does not delay the client's timestamps.
const simulator = await startSimulatorThread(scenario.target.simulator);
try {
  const result = await runScenario(scenario, { baseURL: simulator.baseURL });
  for (const cell of result.cells) {
    const { ttft, tokens_per_chunk: tokensPerChunk, output_tokens: outputTokens } = cell.stats;
    console.log(
      `${cell.model} ${cell.load.kind}=${cell.load.value}: ${cell.ok}/${cell.requests} ok, ` +
        `TTFT p50 ${ttft?.p50.toFixed(1)} ms, ${outputTokens?.p50} output tokens, ${tokensPerChunk?.p50} tokens per chunk`,
    );
  }
} finally {
  await simulator.close();
}
