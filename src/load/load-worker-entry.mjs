// Load worker thread entry when tokenmeter runs from the TypeScript source
// (tests, the bench, a checkout without dist/). Plain JavaScript so it starts
// however the parent was launched, then loads load-worker.ts through tsx's
// loader. The compiled package starts dist/load/load-worker.js instead (load-workers.ts).
import { register } from 'tsx/esm/api';

register();
await import('./load-worker.ts');
