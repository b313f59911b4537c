/** tokenmeter's public API: re-exports only. */
export type * from './types.js';
export { loadScenario, parseScenario, ScenarioError } from './scenario/load.js';
export { scenarioSchema } from './scenario/schema.js';
export { PROVIDERS, providerWarnings, type ProviderName, type ProviderProfile } from './scenario/providers.js';
export { ChatClient, type ChatClientOptions, type ChatRequest } from './client/chat-client.js';
export { REQUEST_ID_HEADER } from './client/apis/common.js';
export { SseDecoder, LineSplitter, SseEventAssembler, type SseEvent } from './client/sse.js';
export { EventReader, type StreamEvents } from './client/event-reader.js';
export { ChatEventReader } from './client/apis/chat.js';
export { ResponsesEventReader } from './client/apis/responses.js';
export { MessagesEventReader } from './client/apis/messages.js';
export { scenarioEvents, capacityEvents, sweepEvents, runScenario, runCapacity, runSweep, collectRun, judgeThresholds, renderResultFiles, type PipelineOptions, type RunEvent, type RunResult, type RunContext, type RequestClient, type Progress } from './pipeline.js';
export { VirtualClock, systemClock, type Clock } from './util/clock.js';
export { closedLoop } from './load/closed-loop.js';
export { sessionLoop, type SessionLoopPlan } from './load/session-loop.js';
export { requestMetrics, type RequestTimeline, type TimedTokens } from './metrics/timing.js';
export { tokensPerChunk, reconcileWithUsage } from './metrics/attribution.js';
export { loadTokenizer, loadTokenizerFile, tokenizerForModelName, type Tokenizer } from './metrics/tokenizers.js';
export { toRequestRecord } from './metrics/request-record.js';
export { CellAccumulator, type CellSummary } from './metrics/cell-summary.js';
export type { TurnSummary } from './metrics/turns.js';
export { TimelineBins, type CellTimeline } from './metrics/timeline.js';
export {
  createHistogram,
  encodeHistogram,
  decodeHistogram,
  statsOf,
  METRIC_NAMES,
  METRIC_UNITS,
  type MetricName,
  type Stats,
} from './metrics/histograms.js';
export {
  HISTOGRAM_METRICS,
  CELL_VALUES,
  METRICS,
  type HistogramMetric,
  type CellValue,
  type Better,
  type Unit,
} from './metrics/catalog.js';
export { renderSummaryCsv, renderHistogramsCsv } from './report/csv.js';
export { renderRequestLine, renderHistogramsJson, renderRunJson } from './report/json.js';
export { renderSummaryTable } from './report/console.js';
export { startSimulator, type RunningSimulator, type SimRequestTruth, type SimulatorOptions } from './sim/server.js';
export { startSimulatorThread, type ThreadedSimulator } from './sim/threaded.js';
export { DEFAULT_SIM_PROFILE } from './sim/profile.js';
