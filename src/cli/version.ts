import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** tokenmeter's version, from package.json. */
export const TOKENMETER_VERSION: string = (require('../../package.json') as { version: string }).version;
