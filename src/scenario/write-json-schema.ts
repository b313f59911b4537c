/** Writes schema/scenario.schema.json from the zod schema (`npm run schema`); a test keeps it current. */
import { writeFile } from 'node:fs/promises';
import { scenarioJsonSchema } from './json-schema.js';

const file = new URL('../../schema/scenario.schema.json', import.meta.url);
await writeFile(file, scenarioJsonSchema());
console.log(`wrote ${file.pathname}`);
