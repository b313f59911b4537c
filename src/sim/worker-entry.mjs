// Worker thread entry for the simulator. Plain JavaScript so it starts however
// the parent was launched (tsx CLI, `node --import tsx`, or bin/tokenmeter.js),
// then loads the TypeScript through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
