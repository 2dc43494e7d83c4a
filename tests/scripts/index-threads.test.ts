import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bots/config.ts';
import { indexingEncoderLayout } from '../../scripts/index-gallery/threads.ts';
import { clipVisionConfig } from '../fakes/hub/clip-graphs.ts';

describe('inference threads while indexing', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'genir-threads-'));
    await writeFile(join(dir, 'clip.json'), JSON.stringify(clipVisionConfig('clip-like')));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('one thread for a small model (decoding needs the other cores), every core for a CLIP-class one, as two copies', async () => {
    expect(await indexingEncoderLayout(loadConfig({}))).toEqual({ threads: 1, workers: 1 });
    const clip = loadConfig({ ENCODER_MODEL: join(dir, 'clip.onnx') });
    const cores = availableParallelism();
    const split = cores === 1 ? { threads: 1, workers: 1 } : { threads: Math.floor(cores / 2), workers: 2 };
    expect(await indexingEncoderLayout(clip)).toEqual(split);
  });

  it('ENCODER_THREADS and ENCODER_WORKERS win', async () => {
    expect(await indexingEncoderLayout(loadConfig({ ENCODER_THREADS: '3' }))).toEqual({
      threads: 3,
      workers: 1,
    });
    expect(await indexingEncoderLayout(loadConfig({ ENCODER_WORKERS: '2' }))).toEqual({
      threads: 1,
      workers: 2,
    });
  });
});
