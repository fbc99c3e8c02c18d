import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PublicationRefused, publishedAttempt, publishFolder } from '../../src/store/models.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'trainyard-publish-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** A finished temporary folder whose one file says who wrote it. */
async function staged(by: string): Promise<string> {
  const tmp = path.join(root, `.tmp-${by}`);
  await mkdir(tmp);
  await writeFile(path.join(tmp, 'manifest.json'), by);
  return tmp;
}

const dir = () => path.join(root, 'model');
const content = () => readFile(path.join(dir(), 'manifest.json'), 'utf8');
const fence = (attempt: number, holds = true) => ({ attempt, holds: async () => holds });

describe('publishFolder', () => {
  it('unfenced (the command line): replaces what is there', async () => {
    await publishFolder(await staged('first'), dir());
    await publishFolder(await staged('second'), dir());
    expect(await content()).toBe('second');
    expect(await publishedAttempt(dir())).toBe(0);
  });

  it('fenced: publishes onto a free name and records the attempt', async () => {
    await publishFolder(await staged('a1'), dir(), fence(1));
    expect(await content()).toBe('a1');
    expect(await publishedAttempt(dir())).toBe(1);
  });

  it('refuses an attempt that no longer owns its job, and leaves the published model alone', async () => {
    await publishFolder(await staged('a2'), dir(), fence(2));
    await expect(publishFolder(await staged('a1'), dir(), fence(1, false))).rejects.toBeInstanceOf(PublicationRefused);
    expect(await content()).toBe('a2');
  });

  it('never replaces a model of the same or a later attempt, even when the fence still answers yes', async () => {
    await publishFolder(await staged('a2'), dir(), fence(2));
    await expect(publishFolder(await staged('a1'), dir(), fence(1))).rejects.toBeInstanceOf(PublicationRefused);
    await expect(publishFolder(await staged('a2-again'), dir(), fence(2))).rejects.toBeInstanceOf(PublicationRefused);
    expect(await content()).toBe('a2');
    expect(await publishedAttempt(dir())).toBe(2);
  });

  it('replaces a model left by an earlier attempt (one that published and then lost its job), leaving nothing aside', async () => {
    await publishFolder(await staged('a1'), dir(), fence(1));
    await publishFolder(await staged('a2'), dir(), fence(2));
    expect(await content()).toBe('a2');
    expect(await publishedAttempt(dir())).toBe(2);
    expect((await readdir(root)).filter((n) => n !== 'model' && !n.startsWith('.tmp-'))).toEqual([]);
  });
});
