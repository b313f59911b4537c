/** The JSON Schema of scenario files, for editors, generated from the same zod schema that validates them. */
import { z } from 'zod';
import { scenarioSchema } from './schema.js';

export function scenarioJsonSchema(): string {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' });
  return JSON.stringify({ ...schema, title: 'tokenmeter scenario' }, null, 2) + '\n';
}
