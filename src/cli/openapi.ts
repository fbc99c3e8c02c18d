/**
 * `npm run openapi`: writes openapi.yaml from the routes' schemas, with the default configuration
 * (the environment's limits would otherwise leak into the committed document). CI fails when the
 * committed file differs from what the routes generate (test/api/openapi.test.ts).
 */
import { writeFile } from 'node:fs/promises';
import { generateOpenapi } from '../api/openapi-document.js';
import { openapiPath } from '../api/openapi.js';
import { loadConfig } from '../config.js';

await writeFile(openapiPath, await generateOpenapi(loadConfig({})));
console.log(`wrote ${openapiPath}`);
