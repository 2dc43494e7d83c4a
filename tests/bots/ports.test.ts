/**
 * The composition root: the one encoder loader (image tower alone or with the CLIP text tower,
 * threads and workers from config or the caller) and every port closed through its own close().
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClipEncoder } from '../../adapters/encode/onnx/clip.ts';
import { OnnxImageEncoder } from '../../adapters/encode/onnx/encoder.ts';
import { ReplicateGenerator } from '../../adapters/generate/replicate/index.ts';
import { loadConfig } from '../../bots/config.ts';
import { loadEncoder } from '../../bots/encoder.ts';
import { buildPorts } from '../../bots/ports.ts';
import { buildClipTextModel, buildClipVisionModel, clipVisionConfig } from '../fakes/hub/clip-graphs.ts';

const TOKENIZER = 'tests/fakes/hub/fixtures/clip-tokenizer/tokenizer.json';
const silent = { info() {}, warn() {}, error() {} };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-ports-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (env: Record<string, string> = {}) =>
  loadConfig({ DATA_DIR: join(dir, 'data'), DEMO_GALLERY_SIZE: '10', ...env }, { dotenv: false });

describe('loadEncoder', () => {
  let clip: Record<string, string>;
  beforeAll(async () => {
    const models = join(dir, 'clip');
    await mkdir(models, { recursive: true });
    await writeFile(join(models, 'vision_model.onnx'), buildClipVisionModel(512));
    await writeFile(join(models, 'vision_model.json'), JSON.stringify(clipVisionConfig('fake-clip')));
    await writeFile(
      join(models, 'text_model.onnx'),
      buildClipTextModel({ vocab: 100, hidden: 8, dim: 512 }).bytes,
    );
    await copyFile(TOKENIZER, join(models, 'tokenizer.json'));
    clip = {
      ENCODER_MODEL: join(models, 'vision_model.onnx'),
      ENCODER_TEXT_MODEL: join(models, 'text_model.onnx'),
    };
  });

  it('the image tower alone by default (indexing), even when a text model is configured', async () => {
    for (const env of [{}, clip]) {
      const enc = await loadEncoder(config(env));
      try {
        expect(enc).toBeInstanceOf(OnnxImageEncoder);
        expect('embedTexts' in enc).toBe(false);
      } finally {
        await enc.close();
      }
    }
  });

  it('with text: both towers when ENCODER_TEXT_MODEL is set, else the image tower', async () => {
    const both = await loadEncoder(config(clip), { text: true });
    try {
      if (!(both instanceof ClipEncoder)) throw new Error('expected both towers');
      expect(both.id).toBe('fake-clip');
      expect((await both.embedTexts(['a red fox']))[0]).toHaveLength(512);
    } finally {
      await both.close();
    }
    const imageOnly = await loadEncoder(config(), { text: true });
    try {
      expect(imageOnly).toBeInstanceOf(OnnxImageEncoder);
      expect(imageOnly.id).toBe('tiny-scene-v1');
    } finally {
      await imageOnly.close();
    }
  });

  it('threads and workers: from ENCODER_THREADS / ENCODER_WORKERS unless the caller says', async () => {
    const load = vi.spyOn(OnnxImageEncoder, 'load');
    try {
      const a = await loadEncoder(config({ ENCODER_THREADS: '2', ENCODER_WORKERS: '2' }));
      await a.close();
      const b = await loadEncoder(config({ ENCODER_THREADS: '2', ENCODER_WORKERS: '2' }), {
        threads: 1,
        workers: 1,
      });
      await b.close();
      const c = await loadEncoder(config());
      await c.close();
      expect(load.mock.calls.map(([options]) => [options.intraOpThreads, options.workers])).toEqual([
        [2, 2],
        [1, 1],
        [undefined, undefined],
      ]);
    } finally {
      load.mockRestore();
    }
  });

  it('a missing text model fails the load and leaves no image tower open', async () => {
    const close = vi.spyOn(OnnxImageEncoder.prototype, 'close');
    try {
      await expect(
        loadEncoder(config({ ...clip, ENCODER_TEXT_MODEL: join(dir, 'missing.onnx') }), { text: true }),
      ).rejects.toThrow();
      expect(close).toHaveBeenCalledTimes(1);
    } finally {
      close.mockRestore();
    }
  });
});

describe('buildPorts', () => {
  it('builds every port from config and closes each one through its own close()', async () => {
    const ports = await buildPorts(
      config({
        GENERATOR: 'replicate',
        REPLICATE_API_TOKEN: 'r8_test',
        REPLICATE_BASE_URL: 'http://127.0.0.1:9',
      }),
      silent,
    );
    expect(ports.generator).toBeInstanceOf(ReplicateGenerator);
    expect(await ports.index.size()).toBe(10);
    expect(await ports.gallery.count()).toBe(10);
    const closes = [ports.generator, ports.encoder, ports.index, ports.stores].map((port) =>
      vi.spyOn(port as { close(): Promise<void> }, 'close'),
    );
    await ports.close();
    for (const close of closes) expect(close).toHaveBeenCalledTimes(1);
    await expect(ports.stores.threads.load('web:x')).rejects.toThrow(/not open/);
  });

  it('a gallery that cannot open: a clear error, and what was opened is closed again', async () => {
    const close = vi.spyOn(OnnxImageEncoder.prototype, 'close');
    try {
      await expect(buildPorts(config({ GALLERY: 'never-indexed' }), silent)).rejects.toThrow(
        /GALLERY=never-indexed has not been indexed yet/,
      );
      expect(close).toHaveBeenCalledTimes(1);
    } finally {
      close.mockRestore();
    }
  });
});
