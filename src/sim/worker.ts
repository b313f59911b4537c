/** The simulator inside a worker thread: started by threaded.ts, driven by messages. */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { startSimulator, type SimulatorOptions } from './server.js';
import type { SimConfig } from '../types.js';
import type { FromWorker, ToWorker } from './threaded.js';

const { config, options } = workerData as { config: SimConfig; options: SimulatorOptions };
const simulator = await startSimulator(config, options);
const port = parentPort!;
const send = (message: FromWorker): void => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'truth') send({ type: 'truth', truth: simulator.truth });
  else if (message.type === 'close') void simulator.close().then(() => send({ type: 'closed' }));
});
send({ type: 'ready', baseURL: simulator.baseURL, port: simulator.port, timeOrigin: performance.timeOrigin });
