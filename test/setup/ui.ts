/**
 * vitest globalSetup: builds the web page into dist/ui once, before any test file runs. Several
 * files serve it (the page and key tests, the OpenAPI examples for GET /); building it here
 * rather than in each of them keeps them independent of the order vitest runs them in, and
 * keeps two of them from writing the same files at once.
 */
import { buildUi } from '../../src/ui/build.js';

export default async function setup(): Promise<void> {
  await buildUi();
}
