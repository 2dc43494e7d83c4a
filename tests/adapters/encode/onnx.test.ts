import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EncoderConfig,
  ImageDecodeError,
  OnnxImageEncoder,
  preprocessImage,
  readEncoderConfig,
} from '../../../adapters/encode/onnx/index.ts';
import {
  COLOURS,
  POSITIONS,
  renderScene,
  type Scene,
  SHAPES,
  SIZES,
  sampleScene,
} from '../../../adapters/scene/index.ts';
import { createRng, pick, type Rng } from '../../../core/random.ts';
import { dot } from '../../../core/vector.ts';
import { buildTinyEncoder } from '../../../scripts/build-tiny-encoder.ts';
import { buildClipVisionModel, clipVisionConfig } from '../../fakes/hub/clip-graphs.ts';

const MODEL = 'models/tiny-encoder.onnx';

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

async function solidPng(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

type Attribute = 'colour' | 'shape' | 'position' | 'background' | 'size';

/** The scene with exactly one attribute changed (of one object, or the background). */
function changeOne(scene: Scene, attribute: Attribute, rng: Rng): Scene {
  const s: Scene = structuredClone(scene);
  const o = s.objects[Math.floor(rng() * s.objects.length)]!;
  if (attribute === 'colour')
    o.colour = pick(
      rng,
      COLOURS.filter((c) => c !== o.colour && c !== s.background),
    );
  if (attribute === 'shape')
    o.shape = pick(
      rng,
      SHAPES.filter((x) => !s.objects.some((y) => y.shape === x)),
    );
  if (attribute === 'size')
    o.size = pick(
      rng,
      SIZES.filter((x) => x !== o.size),
    );
  if (attribute === 'position') {
    o.position = pick(
      rng,
      POSITIONS.filter((p) => !s.objects.some((y) => y.position === p)),
    );
  }
  if (attribute === 'background') {
    s.background = pick(
      rng,
      COLOURS.filter((c) => c !== s.background && !s.objects.some((y) => y.colour === c)),
    );
  }
  return s;
}

describe('OnnxImageEncoder with the tiny scene encoder', () => {
  let encoder: OnnxImageEncoder;
  let config: EncoderConfig;
  let images: Buffer[];

  beforeAll(async () => {
    config = await readEncoderConfig('models/tiny-encoder.json');
    encoder = await OnnxImageEncoder.load({ modelPath: MODEL, intraOpThreads: 1, batchSize: 4 });
    const rng = createRng(99);
    images = await Promise.all(Array.from({ length: 9 }, () => renderScene(sampleScene(rng), { size: 200 })));
  });
  afterAll(async () => {
    await encoder.close();
  });

  it('the committed model files are what scripts/build-tiny-encoder.ts builds', async () => {
    const built = buildTinyEncoder();
    expect(Buffer.compare(await readFile(MODEL), Buffer.from(built.model))).toBe(0);
    expect(config).toEqual(built.config);
    expect(encoder.id).toBe('tiny-scene-v1');
    expect(encoder.dim).toBe(config.dim);
    expect(encoder.preprocessing).toEqual(config.preprocessing);
  });

  it('returns one unit-length vector of the configured dimension per image', async () => {
    const vectors = await encoder.embedImages(images);
    expect(vectors).toHaveLength(images.length);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(encoder.dim);
      expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);
    }
    expect(await encoder.embedImages([])).toEqual([]);
  });

  it('is deterministic, and batching gives the same vectors as one image at a time', async () => {
    const batched = await encoder.embedImages(images); // batches of 4, 4, 1
    const again = await encoder.embedImages([images[0]!, images[0]!]);
    expect(again[0]).toEqual(again[1]);
    expect(again[0]).toEqual(batched[0]);
    for (let i = 0; i < images.length; i++) {
      const [single] = await encoder.embedImages([images[i]!]);
      expect(single!.length).toBe(batched[i]!.length);
      single!.forEach((x, j) => {
        expect(x).toBeCloseTo(batched[i]![j]!, 6);
      });
    }
    const concurrent = await Promise.all(images.map((img) => encoder.embedImages([img])));
    concurrent.forEach(([v], i) => {
      expect(dot(v!, batched[i]!)).toBeCloseTo(1, 5);
    });
  });

  it('puts jittered renders of a scene closer than scenes that differ in one attribute', async () => {
    const rng = createRng(2024);
    const attributes: Attribute[] = ['colour', 'shape', 'position', 'background', 'size'];
    const same: number[] = [];
    const changed: Record<Attribute, number[]> = {
      colour: [],
      shape: [],
      position: [],
      background: [],
      size: [],
    };
    const wins: Record<Attribute, number> = { colour: 0, shape: 0, position: 0, background: 0, size: 0 };
    const n = 40;
    for (let i = 0; i < n; i++) {
      const scene = sampleScene(rng);
      const renders = [
        renderScene(scene, { size: 128, jitter: createRng(1000 + i) }),
        renderScene(scene, { size: 128, jitter: createRng(2000 + i) }),
        ...attributes.map((a) =>
          renderScene(changeOne(scene, a, rng), { size: 128, jitter: createRng(3000 + i) }),
        ),
      ];
      const [base, jittered, ...others] = await encoder.embedImages(await Promise.all(renders));
      const s = dot(base!, jittered!);
      same.push(s);
      attributes.forEach((a, k) => {
        const d = dot(base!, others[k]!);
        changed[a].push(d);
        if (s > d) wins[a]++;
      });
    }
    const sameMean = mean(same);
    expect(sameMean).toBeGreaterThan(0.9);
    for (const a of attributes) expect(sameMean - mean(changed[a])).toBeGreaterThan(0.01);
    expect(sameMean - mean(changed.colour)).toBeGreaterThan(0.05);
    expect(sameMean - mean(changed.position)).toBeGreaterThan(0.15);
    expect(sameMean - mean(changed.background)).toBeGreaterThan(0.2);
    // pairwise: the jittered twin wins against most one-attribute changes
    expect(wins.position / n).toBeGreaterThanOrEqual(0.9);
    expect(wins.background / n).toBeGreaterThanOrEqual(0.9);
    expect(wins.colour / n).toBeGreaterThanOrEqual(0.7);
    expect(wins.shape / n).toBeGreaterThanOrEqual(0.6);
  });

  it('names the corrupt image in an ImageDecodeError', async () => {
    const corrupt = Buffer.from('this is not an image at all');
    const truncated = images[1]!.subarray(0, 100);
    for (const [bad, index] of [
      [corrupt, 5],
      [truncated, 2],
    ] as const) {
      const batch = [...images.slice(0, 6)];
      batch[index] = bad;
      const err = await encoder.embedImages(batch).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageDecodeError);
      expect((err as ImageDecodeError).index).toBe(index);
      expect((err as Error).message).toMatch(new RegExp(`^image ${index} could not be decoded: `));
    }
    const empty = await encoder.embedImages([images[0]!, Buffer.alloc(0)]).catch((e: unknown) => e);
    expect(empty).toMatchObject({ name: 'ImageDecodeError', index: 1 });
    // the encoder still works afterwards
    expect(await encoder.embedImages([images[0]!])).toHaveLength(1);
  });

  it('refuses images over the pixel limit (decompression-bomb guard)', async () => {
    const guarded = await OnnxImageEncoder.load({ modelPath: MODEL, limitInputPixels: 100 * 100 });
    try {
      const big = await solidPng(101, 100, [10, 20, 30]);
      const err = await guarded
        .embedImages([await solidPng(100, 100, [1, 2, 3]), big])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageDecodeError);
      expect(err).toMatchObject({ index: 1, message: expect.stringMatching(/pixel limit/i) });
    } finally {
      await guarded.close();
    }
  });

  it('gives a clear error when the config names tensors the model does not have', async () => {
    await expect(
      OnnxImageEncoder.load({ modelPath: MODEL, config: { ...config, inputName: 'pixels' } }),
    ).rejects.toThrow(/input "pixels" not found \(model inputs: pixel_values\)/);
    await expect(
      OnnxImageEncoder.load({ modelPath: MODEL, config: { ...config, outputName: 'text_embeds' } }),
    ).rejects.toThrow(/output "text_embeds" not found \(model outputs: image_embeds\)/);
    await expect(
      OnnxImageEncoder.load({ modelPath: MODEL, config: { ...config, dim: 512 } }),
    ).rejects.toThrow(/output "image_embeds" has shape \[1, 423\], config says \[1, 512\]/);
    await expect(
      OnnxImageEncoder.load({
        modelPath: MODEL,
        config: { ...config, preprocessing: { ...config.preprocessing, size: 224 } },
      }),
    ).rejects.toThrow(/shape \[batch, 3, 64, 64\], config expects \[N, 3, 224, 224\]/);
    await expect(OnnxImageEncoder.load({ modelPath: 'models/missing.onnx', config })).rejects.toThrow(
      /cannot load ONNX model models\/missing\.onnx/,
    );
  });

  it('runs the model in a worker thread: the event loop keeps turning during inference', async () => {
    const encoder = await OnnxImageEncoder.load({ modelPath: MODEL, intraOpThreads: 1 });
    try {
      const n = 128;
      const size = encoder.preprocessing.size;
      let turns = 0;
      let spinning = true;
      const spin = () => {
        turns++;
        if (spinning) setImmediate(spin);
      };
      // Run inline, inference would block the loop: spin would turn once, before it started.
      const run = encoder.embedTensor(new Float32Array(n * 3 * size * size), n);
      setImmediate(spin);
      const vectors = await run;
      spinning = false;
      expect(vectors).toHaveLength(n);
      expect(turns).toBeGreaterThan(1);
    } finally {
      await encoder.close();
    }
  });

  it('several model copies give the same vectors as one, for batches run side by side', async () => {
    const one = await OnnxImageEncoder.load({ modelPath: MODEL, intraOpThreads: 1 });
    const two = await OnnxImageEncoder.load({ modelPath: MODEL, intraOpThreads: 1, workers: 2 });
    try {
      const rng = createRng(11);
      const images = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          renderScene(sampleScene(rng), { size: 128, jitter: createRng(i) }),
        ),
      );
      const expected = await one.embedImages(images);
      const halves = await Promise.all([
        two.embedImages(images.slice(0, 3)),
        two.embedImages(images.slice(3)),
      ]);
      const got = halves.flat();
      expect(got).toHaveLength(6);
      for (let i = 0; i < 6; i++) expect(dot(got[i]!, expected[i]!)).toBeCloseTo(1, 5);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('a closed encoder refuses new work and fails work in flight with a clear error', async () => {
    const encoder = await OnnxImageEncoder.load({ modelPath: MODEL, intraOpThreads: 1 });
    const size = encoder.preprocessing.size;
    const inFlight = encoder.embedTensor(new Float32Array(128 * 3 * size * size), 128);
    await encoder.close();
    await expect(inFlight).resolves.toHaveLength(128); // close waits for queued runs
    await expect(encoder.embedImages([await solidPng(8, 8, [1, 2, 3])])).rejects.toThrow(/closed/);
  });
});

describe('OnnxImageEncoder with a CLIP-shaped model', () => {
  const clipConfig = clipVisionConfig('fake-clip-vit-b-32');
  let dir: string;
  let modelPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'genir-clip-'));
    modelPath = join(dir, 'clip-vit-b-32.onnx');
    await writeFile(modelPath, buildClipVisionModel(512, 5));
    await writeFile(join(dir, 'clip-vit-b-32.json'), JSON.stringify(clipConfig));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** 448×224: red quarters left and right of a blue centre half. */
  async function wideRedBlueRed(): Promise<Buffer> {
    const blue = await solidPng(224, 224, [0, 0, 255]);
    return sharp({ create: { width: 448, height: 224, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .composite([{ input: blue, left: 112, top: 0 }])
      .png()
      .toBuffer();
  }

  it('reads the config next to the model and embeds to 512 unit dims', async () => {
    const encoder = await OnnxImageEncoder.load({ modelPath, intraOpThreads: 1 });
    try {
      expect(encoder.id).toBe('fake-clip-vit-b-32');
      expect(encoder.dim).toBe(512);
      const vectors = await encoder.embedImages([await solidPng(300, 200, [200, 30, 30])]);
      expect(vectors[0]!.length).toBe(512);
      expect(Math.sqrt(dot(vectors[0]!, vectors[0]!))).toBeCloseTo(1, 5);
    } finally {
      await encoder.close();
    }
  });

  it('shortest-side resize + centre crop keeps only the centre square, normalized with CLIP mean/std', async () => {
    const wide = await wideRedBlueRed();
    const tensor = await preprocessImage(wide, clipConfig.preprocessing);
    expect(tensor.length).toBe(3 * 224 * 224);
    const plane = 224 * 224;
    const { mean: m, std: s } = clipConfig.preprocessing;
    // every pixel of the crop is (interior) blue: the red quarters are cut away
    for (const i of [0, 223, 112 * 224 + 112, plane - 1]) {
      expect(tensor[i]).toBeCloseTo((0 - m[0]) / s[0], 2);
      expect(tensor[plane + i]).toBeCloseTo((0 - m[1]) / s[1], 2);
      expect(tensor[2 * plane + i]).toBeCloseTo((1 - m[2]) / s[2], 2);
    }

    const encoder = await OnnxImageEncoder.load({ modelPath, intraOpThreads: 1 });
    try {
      const [fromWide, fromBlue] = await encoder.embedImages([wide, await solidPng(224, 224, [0, 0, 255])]);
      expect(dot(fromWide!, fromBlue!)).toBeCloseTo(1, 4);
    } finally {
      await encoder.close();
    }
    // the same image stretched instead keeps the red
    const stretched = await preprocessImage(wide, { ...clipConfig.preprocessing, resize: 'stretch' });
    expect(stretched[112 * 224 + 5]).toBeCloseTo((1 - m[0]) / s[0], 2);
  });

  it('flattens transparency onto white and accepts other formats', async () => {
    const transparent = await sharp({
      create: { width: 40, height: 30, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const tensor = await preprocessImage(transparent, clipConfig.preprocessing);
    const { mean: m, std: s } = clipConfig.preprocessing;
    expect(tensor[0]).toBeCloseTo((1 - m[0]) / s[0], 3);
    expect(tensor[2 * 224 * 224 + 500]).toBeCloseTo((1 - m[2]) / s[2], 3);
    const jpeg = await sharp(await solidPng(64, 48, [0, 255, 0]))
      .jpeg({ quality: 95 })
      .toBuffer();
    const gray = await sharp(await solidPng(64, 48, [128, 128, 128]))
      .greyscale()
      .webp({ lossless: true })
      .toBuffer();
    const encoder = await OnnxImageEncoder.load({ modelPath, intraOpThreads: 1 });
    try {
      const vectors = await encoder.embedImages([jpeg, gray, transparent]);
      expect(vectors.map((v) => v.length)).toEqual([512, 512, 512]);
    } finally {
      await encoder.close();
    }
  });
});
