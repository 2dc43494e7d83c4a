/** Writes schemas/genir-dialogue.schema.json from the zod schema (`npm run schema`). */
import { writeFile } from 'node:fs/promises';
import { genirJsonSchema } from '../../adapters/store/genir-format.ts';

export const SCHEMA_FILE = 'schemas/genir-dialogue.schema.json';

export const schemaText = (): string => `${JSON.stringify(genirJsonSchema(), null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(SCHEMA_FILE, schemaText());
  console.log(`Wrote ${SCHEMA_FILE}`);
}
