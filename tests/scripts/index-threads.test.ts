import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bots/config.ts';
import { indexingEncoderThreads } from '../../scripts/index-gallery/threads.ts';
import { clipVisionConfig } from '../fakes/hub/clip-graphs.ts';

describe('inference threads while indexing', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'genir-threads-'));
    await writeFile(join(dir, 'clip.json'), JSON.stringify(clipVisionConfig('clip-like')));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('one for a small model (decoding needs the other cores), every core for a CLIP-class one', async () => {
    expect(await indexingEncoderThreads(loadConfig({}))).toBe(1);
    const clip = loadConfig({ ENCODER_MODEL: join(dir, 'clip.onnx') });
    expect(await indexingEncoderThreads(clip)).toBe(availableParallelism());
  });

  it('ENCODER_THREADS wins', async () => {
    expect(await indexingEncoderThreads(loadConfig({ ENCODER_THREADS: '3' }))).toBe(3);
  });
});
