import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config.js';
import { CheckOutOfMemoryError, checkInThread } from '../nn/custom/check-runner.js';
import { validateCheckRequest } from '../nn/custom/check-request.js';
import { fail, intFlag, parseFlags } from './args.js';

const usage = `Usage: npm run check-layer -- --layer FILE --input-size H,W,C [--observations N] [--json]

Checks a custom layer (a JSON file holding one {"type": "custom", ...} layer) the way MATLAB's
checkLayer does, for inputs of H x W x C, and prints each check. Exits 0 when every check passes,
1 when one fails, 2 when the layer or the flags are invalid. --json prints the report as JSON.`;

const flags = parseFlags(usage, {
  layer: { type: 'string' },
  'input-size': { type: 'string' },
  observations: { type: 'string' },
  json: { type: 'boolean', default: false },
});

try {
  const config = loadConfig();
  if (!flags.layer || !flags['input-size']) fail(`--layer and --input-size are required\n\n${usage}`);
  let layer: unknown;
  try {
    layer = JSON.parse(readFileSync(flags.layer, 'utf8'));
  } catch (err) {
    fail(`--layer: cannot read ${flags.layer} as JSON (${(err as Error).message})`);
  }
  const inputSize = flags['input-size'].split(',').map((d) => Number(d.trim()));
  const observations = intFlag(flags.observations, '--observations');
  const request = validateCheckRequest({ layer, inputSize, ...(observations === undefined ? {} : { observations }) });
  if (!request.ok) fail(`invalid input:\n  ${request.problems.map((p) => p.message).join('\n  ')}`);

  // The same thread and bounds as the API's checks (LAYER_CHECK_MAX_OPERATIONS, LAYER_CHECK_TIMEOUT_MS).
  const report = await checkInThread(request.value.layer, { observations: request.value.observations, backend: config.backend, ...config.layerCheck });
  if (flags.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`checking ${report.layer} on ${report.observations} x ${report.inputSize.join('x')} inputs`);
    for (const check of report.checks) console.log(`${check.status.toUpperCase().padEnd(4)}  ${check.name}: ${check.message}`);
    console.log(report.summary.text);
  }
  process.exitCode = report.summary.ok ? 0 : 1;
} catch (err) {
  if (err instanceof ConfigError || err instanceof CheckOutOfMemoryError) fail(err.message);
  throw err;
}
