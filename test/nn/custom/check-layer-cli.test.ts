import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customEluWithBackward } from './seed-elu.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const env = { ...process.env, TRAINYARD_BACKEND: 'wasm' };
let out: string;

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'trainyard-check-cli-'));
});
afterAll(() => rm(out, { recursive: true, force: true }));

/** Runs the command; resolves with its exit code and output whether it succeeds or not. */
async function checkLayer(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, ['src/cli/check-layer.ts', ...args], { cwd: root, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run check-layer', () => {
  it('prints every check and exits 0 for the seed ELU, 1 for a wrong backward, 2 for a bad expression', async () => {
    const good = await checkLayer(['--layer', 'examples/custom-elu-layer.json', '--input-size', '6,6,4']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('PASS  gradientsNumericallyCorrect: the gradients agree with the float64 central differences');
    expect(good.stdout).toMatch(/^9 checks: 9 passed, 0 failed, 0 skipped$/m);

    const wrong = path.join(out, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ ...customEluWithBackward, backward: { ...customEluWithBackward.backward, alpha: 'sum(dz * exp(min(x, 0)), "spatial+batch")' } }));
    const failed = await checkLayer(['--layer', wrong, '--input-size', '6,6,4', '--json']);
    expect(failed.code).toBe(1);
    const report = JSON.parse(failed.stdout) as { summary: { failed: number } };
    expect(report.summary.failed).toBe(2);

    const bad = path.join(out, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...customEluWithBackward, forward: 'x > 0 ? x : alpah' }));
    const invalid = await checkLayer(['--layer', bad, '--input-size', '6,6,4']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("layer: forward: unknown name 'alpah' at column 13 (known: x, alpha)");
  });
});
