/** `npm run openapi`: writes the API's OpenAPI 3.1 document (contract/openapi.ts) to docs/openapi.json. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openApiText } from '../../contract/openapi.ts';

const file = resolve(import.meta.dirname, '../../docs/openapi.json');
writeFileSync(file, openApiText());
console.log(`wrote ${file}`);
