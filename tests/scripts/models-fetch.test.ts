/**
 * `genir models fetch` against a local fake of the Hugging Face hub serving small files: the
 * download, size + sha256 checks, resume of a partial file, a bad hash, offline, and the written
 * encoder configs loading through the real encoder code.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClipEncoder } from '../../adapters/encode/onnx/clip.ts';
import type { Progress } from '../../adapters/progress/index.ts';
import { loadConfig } from '../../bots/config.ts';
import { loadEncoder } from '../../bots/encoder.ts';
import {
  fetchModel,
  MODEL_REGISTRY,
  ModelFetchError,
  type ModelSpec,
  modelsFetchCommand,
} from '../../scripts/models-fetch.ts';
import { buildClipTextModel, buildClipVisionModel } from '../fakes/hub/clip-graphs.ts';
import { FakeHub } from '../fakes/hub/server.ts';
import { closedPort } from '../fakes/shared/http.ts';

const REPO = 'Xenova/clip-vit-base-patch32';
const FIXTURE = 'tests/fakes/hub/fixtures/clip-tokenizer';
let hub: FakeHub;
let dir: string;
const blobs: Record<string, Buffer> = {};

beforeAll(async () => {
  hub = await FakeHub.start();
  blobs['onnx/vision_model.onnx'] = Buffer.from(buildClipVisionModel(512, 5));
  blobs['onnx/vision_model_quantized.onnx'] = Buffer.from(buildClipVisionModel(512, 6));
  blobs['onnx/text_model.onnx'] = Buffer.from(
    buildClipTextModel({ vocab: 100, hidden: 8, dim: 512, seed: 1 }).bytes,
  );
  blobs['onnx/text_model_quantized.onnx'] = Buffer.from(
    buildClipTextModel({ vocab: 100, hidden: 8, dim: 512, seed: 2 }).bytes,
  );
  blobs['tokenizer.json'] = await readFile(join(FIXTURE, 'tokenizer.json'));
  blobs['tokenizer_config.json'] = await readFile(join(FIXTURE, 'tokenizer_config.json'));
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-models-'));
  hub.files.clear();
  hub.requests.length = 0;
  for (const [path, data] of Object.entries(blobs))
    hub.add(REPO, path, data, { lfs: path.endsWith('.onnx') });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fetchClip = (o: Partial<Parameters<typeof fetchModel>[0]> = {}) =>
  fetchModel({ name: 'clip-vit-base-patch32', modelsDir: dir, endpoint: hub.url, ...o });
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('genir models fetch', () => {
  it('downloads every file, checks size and sha256, writes configs, manifest and the .env lines', async () => {
    const bars: { file: string; total: number; last: number }[] = [];
    const progress = (file: string): Progress => {
      const bar = { file, total: -1, last: -1 };
      bars.push(bar);
      return { start: (t) => (bar.total = t), update: (d) => (bar.last = d), stop: () => {} };
    };
    const result = await fetchClip({ progress });
    const model = join(dir, 'clip-vit-base-patch32');
    expect(result.dir).toBe(model);
    expect(result.files.map((f) => [f.role, f.verified, f.skipped])).toEqual([
      ['vision', 'hub', false],
      ['text', 'hub', false],
      ['tokenizer', 'unchecked', false],
      ['tokenizer-config', 'unchecked', false],
    ]);
    for (const f of result.files) {
      const name = f.path.split('/').pop()!;
      const blob = Object.entries(blobs).find(([p]) => p.endsWith(name))![1];
      expect(await readFile(f.path)).toEqual(blob);
      expect(f.sha256).toBe(sha(blob));
    }
    expect(bars.map((b) => b.total === b.last && b.total > 0)).toEqual([true, true, true, true]);
    expect(result.env).toEqual([
      `ENCODER_MODEL=${join(model, 'vision_model.onnx')}`,
      `ENCODER_TEXT_MODEL=${join(model, 'text_model.onnx')}`,
      `ENCODER_TOKENIZER=${join(model, 'tokenizer.json')}`,
    ]);
    expect(JSON.parse(await readFile(join(model, 'vision_model.json'), 'utf8'))).toEqual({
      id: 'clip-vit-base-patch32',
      dim: 512,
      inputName: 'pixel_values',
      outputName: 'image_embeds',
      preprocessing: MODEL_REGISTRY['clip-vit-base-patch32']!.preprocessing,
    });
    const manifest = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
    expect(manifest.files).toHaveLength(4);

    // what was written loads as the bot loads it: image + text towers
    const config = loadConfig(
      {
        ENCODER_MODEL: join(model, 'vision_model.onnx'),
        ENCODER_TEXT_MODEL: join(model, 'text_model.onnx'),
        ENCODER_TOKENIZER: join(model, 'tokenizer.json'),
      },
      { dotenv: false },
    );
    const enc = await loadEncoder(config, { text: true });
    try {
      if (!(enc instanceof ClipEncoder)) throw new Error('expected both towers');
      expect(enc.id).toBe('clip-vit-base-patch32');
      const png = await sharp({
        create: { width: 64, height: 48, channels: 3, background: { r: 9, g: 99, b: 199 } },
      })
        .png()
        .toBuffer();
      expect((await enc.embedImages([png]))[0]).toHaveLength(512);
      expect((await enc.embedTexts(['a red fox']))[0]).toHaveLength(512);
    } finally {
      await enc.close();
    }
  });

  it('--quantized takes the quantized exports and marks the encoder id', async () => {
    const result = await fetchClip({ quantized: true });
    expect(result.files.map((f) => f.path.split('/').pop())).toEqual([
      'vision_model_quantized.onnx',
      'text_model_quantized.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const config = JSON.parse(await readFile(join(result.dir, 'vision_model_quantized.json'), 'utf8'));
    expect(config.id).toBe('clip-vit-base-patch32-quantized');
  });

  it('does not download again what is already there and intact', async () => {
    await fetchClip();
    hub.requests.length = 0;
    const again = await fetchClip();
    expect(again.files.every((f) => f.skipped)).toBe(true);
    expect(hub.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const vision = blobs['onnx/vision_model.onnx']!;
    hub.add(REPO, 'onnx/vision_model.onnx', vision, { cutAfter: 2000 });
    const err = await fetchClip().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect((err as Error).message).toMatch(
      /^The download of vision_model\.onnx was interrupted after .* Run the same command again to resume from there\.$/,
    );
    const part = join(dir, 'clip-vit-base-patch32', 'vision_model.onnx.part');
    const partial = (await stat(part)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(vision.length);

    const result = await fetchClip();
    const [fetched] = result.files;
    expect(fetched).toMatchObject({
      role: 'vision',
      resumedFrom: partial,
      sha256: sha(vision),
      verified: 'hub',
    });
    expect(await readFile(fetched!.path)).toEqual(vision);
    expect(await exists(part)).toBe(false);
    expect(hub.downloads('vision_model.onnx').at(-1)).toMatchObject({
      range: `bytes=${partial}-`,
      status: 206,
    });
  });

  it('starts over when the server ignores the range', async () => {
    const vision = blobs['onnx/vision_model.onnx']!;
    const part = join(dir, 'clip-vit-base-patch32', 'vision_model.onnx.part');
    await mkdir(join(dir, 'clip-vit-base-patch32'), { recursive: true });
    await writeFile(part, Buffer.from('garbage that is not the start of the file'));
    hub.add(REPO, 'onnx/vision_model.onnx', vision, { ignoreRange: true });
    const result = await fetchClip();
    expect(await readFile(result.files[0]!.path)).toEqual(vision);
    expect(result.files[0]!.resumedFrom).toBeUndefined();
  });

  it('rejects a file whose sha256 does not match, deleting the download', async () => {
    hub.add(REPO, 'onnx/vision_model.onnx', blobs['onnx/vision_model.onnx']!, {
      advertisedSha256: 'a'.repeat(64),
    });
    const err = await fetchClip().catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `vision_model.onnx: sha256 mismatch (expected ${'a'.repeat(64)}, got ${sha(blobs['onnx/vision_model.onnx']!)}). The download was deleted; run the command again.`,
    );
    const model = join(dir, 'clip-vit-base-patch32');
    expect(await exists(join(model, 'vision_model.onnx'))).toBe(false);
    expect(await exists(join(model, 'vision_model.onnx.part'))).toBe(false);
  });

  it('checks against sizes and hashes in the registry when it has them', async () => {
    const tokenizer = blobs['tokenizer.json']!;
    const registry: Record<string, ModelSpec> = {
      tiny: {
        ...MODEL_REGISTRY['clip-vit-base-patch32']!,
        name: 'tiny',
        files: [
          { role: 'tokenizer', path: 'tokenizer.json', size: tokenizer.length, sha256: sha(tokenizer) },
        ],
      },
    };
    const ok = await fetchModel({ name: 'tiny', registry, modelsDir: dir, endpoint: hub.url });
    expect(ok.files[0]).toMatchObject({ verified: 'registry', bytes: tokenizer.length });

    registry.tiny!.files[0]!.sha256 = 'b'.repeat(64);
    await rm(join(dir, 'tiny'), { recursive: true });
    await expect(fetchModel({ name: 'tiny', registry, modelsDir: dir, endpoint: hub.url })).rejects.toThrow(
      /sha256 mismatch/,
    );

    registry.tiny!.files[0]!.size = tokenizer.length + 5;
    await expect(fetchModel({ name: 'tiny', registry, modelsDir: dir, endpoint: hub.url })).rejects.toThrow(
      `tokenizer.json: got ${tokenizer.length} bytes, expected ${tokenizer.length + 5}. The partial file is kept; run the same command again to resume.`,
    );
  });

  it('says clearly when the hub cannot be reached, and what to download by hand', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const lines: string[] = [];
    const code = await modelsFetchCommand(
      'clip-vit-base-patch32',
      { modelsDir: dir, endpoint },
      { out: (l) => lines.push(l), err: (l) => lines.push(l) },
    );
    expect(code).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain(
      `Cannot reach ${endpoint} (ECONNREFUSED): this machine seems to be offline, or the hub is blocked.`,
    );
    expect(text).toContain(`${endpoint}/${REPO}/resolve/main/onnx/vision_model.onnx`);
    expect(text).toContain(`${endpoint}/${REPO}/resolve/main/tokenizer.json`);
    expect(text).toContain('files already there are kept');
  });

  it('names unknown models and missing files', async () => {
    await expect(fetchModel({ name: 'clip-nope', modelsDir: dir, endpoint: hub.url })).rejects.toThrow(
      /^Unknown model "clip-nope"\. Known models:\n {2}clip-vit-base-patch32 — /,
    );
    hub.files.delete(`${REPO}/onnx/text_model.onnx`);
    await expect(fetchClip()).rejects.toThrow(
      `${hub.url}/${REPO}/resolve/main/onnx/text_model.onnx: not found on the hub (HTTP 404).`,
    );
  });

  it('prints the .env lines on success', async () => {
    const out: string[] = [];
    const code = await modelsFetchCommand(
      'clip-vit-base-patch32',
      { modelsDir: dir, endpoint: hub.url },
      {
        out: (l) => out.push(l),
        err: () => {},
        progress: () => ({ start() {}, update() {}, stop() {} }),
      },
    );
    expect(code).toBe(0);
    expect(out).toContain(`ENCODER_MODEL=${join(dir, 'clip-vit-base-patch32', 'vision_model.onnx')}`);
  });
});
