import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxImageEncoder, readEncoderConfig } from '../../adapters/encode/onnx/index.ts';
import { renderScene, sampleScene } from '../../adapters/scene/index.ts';
import { createRng } from '../../core/random.ts';
import { dot } from '../../core/vector.ts';
import {
  buildClipShapedEncoder,
  CLIP_SHAPED_DEFAULTS,
  type ClipShapedParams,
  clipShapedWeights,
  parameterCount,
  writeClipShapedEncoder,
} from '../../scripts/build-clip-shaped-encoder.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const { onnx } = onnxProto;

/** CLIP ViT-B/32's vision tower incl. the projection to 512 (OpenAI's checkpoint). */
const VIT_B32_VISION_PARAMETERS = 87_849_216;

const TINY: ClipShapedParams = { imageSize: 64, patch: 16, width: 64, layers: 2, dim: 32, seed: 7 };

/** Float elements of every initializer of a serialized model. */
function initializerElements(model: Uint8Array): { elements: number; types: Set<number> } {
  const decoded = onnx.ModelProto.decode(model);
  let elements = 0;
  const types = new Set<number>();
  for (const t of decoded.graph?.initializer ?? []) {
    types.add(t.dataType ?? 0);
    elements += (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1);
  }
  return { elements, types };
}

/** Every initializer of a serialized model, by name (all float32 raw data). */
function weightsOf(model: Uint8Array): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const t of onnx.ModelProto.decode(model).graph?.initializer ?? []) {
    // a copy: decoded from a Buffer, rawData is a view into a shared pool
    weights.set(t.name ?? '', new Float32Array(new Uint8Array(t.rawData as Uint8Array).buffer));
  }
  return weights;
}

/** rows × k times k × m, row-major, plus an optional bias of m. */
function matmul(a: Float32Array, rows: number, k: number, b: Float32Array, m: number, bias?: Float32Array) {
  const out = new Float32Array(rows * m);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < m; j++) {
      let s = bias ? bias[j]! : 0;
      for (let t = 0; t < k; t++) s += a[i * k + t]! * b[t * m + j]!;
      out[i * m + j] = s;
    }
  return out;
}

function layerNorm(x: Float32Array, rows: number, w: number, scale: Float32Array, bias: Float32Array) {
  const out = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) {
    const row = x.subarray(i * w, (i + 1) * w);
    const mean = row.reduce((a, b) => a + b, 0) / w;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / w;
    for (let j = 0; j < w; j++)
      out[i * w + j] = ((row[j]! - mean) / Math.sqrt(variance + 1e-5)) * scale[j]! + bias[j]!;
  }
  return out;
}

/** The network the header describes, written out by hand for one CHW image. */
function referenceForward(p: ClipShapedParams, weights: Map<string, Float32Array>, image: Float32Array) {
  const get = (name: string) => weights.get(name)!;
  const W = p.width;
  const S = p.imageSize;
  const P = p.patch;
  const g = S / P;
  const T = g * g + 1;
  let x = new Float32Array(T * W);
  x.set(get('cls'));
  const conv = get('patch_w');
  for (let py = 0; py < g; py++)
    for (let px = 0; px < g; px++)
      for (let o = 0; o < W; o++) {
        let s = 0;
        for (let c = 0; c < 3; c++)
          for (let ky = 0; ky < P; ky++)
            for (let kx = 0; kx < P; kx++)
              s += conv[((o * 3 + c) * P + ky) * P + kx]! * image[(c * S + py * P + ky) * S + px * P + kx]!;
        x[(1 + py * g + px) * W + o] = s;
      }
  x = x.map((v, i) => v + get('pos')[i]!);
  x = layerNorm(x, T, W, get('ln_pre_scale'), get('ln_pre_bias'));
  const heads = W / 64;
  for (let l = 0; l < p.layers; l++) {
    const b = `b${l}`;
    const h = layerNorm(x, T, W, get(`${b}_ln_1_scale`), get(`${b}_ln_1_bias`));
    const qkv = matmul(h, T, W, get(`${b}_qkv_w`), 3 * W, get(`${b}_qkv_b`));
    const ctx = new Float32Array(T * W);
    for (let hd = 0; hd < heads; hd++)
      for (let i = 0; i < T; i++) {
        const at = (t: number, part: number, d: number) => qkv[t * 3 * W + part * W + hd * 64 + d]!;
        const scores = Array.from({ length: T }, (_, j) => {
          let s = 0;
          for (let d = 0; d < 64; d++) s += at(i, 0, d) * at(j, 1, d);
          return s / 8;
        });
        const top = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - top));
        const sum = e.reduce((a2, b2) => a2 + b2, 0);
        for (let d = 0; d < 64; d++)
          ctx[i * W + hd * 64 + d] = e.reduce((s, ej, j) => s + (ej / sum) * at(j, 2, d), 0);
      }
    const attn = matmul(ctx, T, W, get(`${b}_out_w`), W, get(`${b}_out_b`));
    x = x.map((v, i) => v + attn[i]!);
    const fc = matmul(
      layerNorm(x, T, W, get(`${b}_ln_2_scale`), get(`${b}_ln_2_bias`)),
      T,
      W,
      get(`${b}_fc_w`),
      4 * W,
      get(`${b}_fc_b`),
    );
    const gelu = fc.map((v) => v / (1 + Math.exp(-1.702 * v)));
    const mlp = matmul(gelu, T, 4 * W, get(`${b}_proj_w`), W, get(`${b}_proj_b`));
    x = x.map((v, i) => v + mlp[i]!);
  }
  const pooled = layerNorm(x.subarray(0, W), 1, W, get('ln_post_scale'), get('ln_post_bias'));
  return matmul(pooled, 1, W, get('head_w'), p.dim);
}

describe('CLIP-shaped benchmark encoder', () => {
  let dir: string;
  let encoder: OnnxImageEncoder;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'genir-clip-shaped-'));
    await writeClipShapedEncoder(join(dir, 'tiny.onnx'), TINY);
    encoder = await OnnxImageEncoder.load({ modelPath: join(dir, 'tiny.onnx') });
  });
  afterAll(async () => {
    await encoder?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads through the ONNX encoder with its config: CLIP names, CLIP preprocessing at the given size', async () => {
    const config = await readEncoderConfig(join(dir, 'tiny.json'));
    expect(config).toMatchObject({ dim: TINY.dim, inputName: 'pixel_values', outputName: 'image_embeds' });
    expect(config.preprocessing).toMatchObject({ size: TINY.imageSize, resize: 'shortest-crop' });
    expect(encoder.dim).toBe(TINY.dim);
  });

  it('embeds images as finite unit vectors: different images differ, the same image twice does not', async () => {
    const rng = createRng(3);
    const a = await renderScene(sampleScene(rng), { size: 96 });
    const b = await renderScene(sampleScene(rng), { size: 96 });
    const [va, vb, va2] = await encoder.embedImages([a, b, a]);
    for (const v of [va!, vb!]) {
      expect(v).toHaveLength(TINY.dim);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(dot(v, v)).toBeCloseTo(1, 5);
    }
    expect(dot(va!, vb!)).toBeLessThan(0.9999);
    expect(Array.from(va2!)).toEqual(Array.from(va!));
  });

  it('computes the documented network: patch embedding, pre-LN attention blocks, LayerNorm, projection', async () => {
    const params: ClipShapedParams = { imageSize: 32, patch: 16, width: 128, layers: 2, dim: 8, seed: 5 };
    const path = join(dir, 'two-heads.onnx');
    await writeClipShapedEncoder(path, params);
    const small = await OnnxImageEncoder.load({ modelPath: path });
    try {
      const rng = createRng(9);
      const image = Float32Array.from({ length: 3 * 32 * 32 }, () => 4 * rng() - 2);
      const [got] = await small.embedTensor(image, 1);
      const want = referenceForward(params, weightsOf(await readFile(path)), image);
      const norm = Math.sqrt(dot(want, want));
      for (let i = 0; i < params.dim; i++) expect(got![i]).toBeCloseTo(want[i]! / norm, 4);
    } finally {
      await small.close();
    }
  });

  it('the same seed gives the same model, another seed other weights', () => {
    const first = buildClipShapedEncoder(TINY).model;
    expect(Buffer.from(buildClipShapedEncoder(TINY).model).equals(first)).toBe(true);
    expect(Buffer.from(buildClipShapedEncoder({ ...TINY, seed: 8 }).model).equals(first)).toBe(false);
  });

  it('its initializers are exactly the float parameters it counts', () => {
    const built = buildClipShapedEncoder(TINY);
    const { elements, types } = initializerElements(built.model);
    expect(types).toEqual(new Set([onnx.TensorProto.DataType.FLOAT]));
    expect(elements).toBe(built.parameters);
    expect(built.parameters).toBe(parameterCount(clipShapedWeights(TINY)));
  });

  it("the default graph has CLIP ViT-B/32's parameter count (counted, not built)", () => {
    const parameters = parameterCount(clipShapedWeights(CLIP_SHAPED_DEFAULTS));
    expect(Math.abs(parameters / VIT_B32_VISION_PARAMETERS - 1)).toBeLessThan(0.02);
  });

  it('refuses shapes it cannot build, saying why', () => {
    expect(() => clipShapedWeights({ ...TINY, width: 100 })).toThrow('width 100 is not a multiple of 64');
    expect(() => clipShapedWeights({ ...TINY, imageSize: 70 })).toThrow(
      'image size 70 is not a multiple of the patch size 16',
    );
    expect(() => clipShapedWeights({ ...TINY, layers: 0 })).toThrow('layers must be a whole number ≥ 1');
  });

  it('genir models build-clip-shaped writes the model and its config from the options', async () => {
    const out = join(dir, 'cli', 'model.onnx');
    const args = ['--out', out, '--layers', '1', '--width', '64', '--image-size', '32', '--patch', '16'];
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'bin', 'genir.js'), 'models', 'build-clip-shaped', ...args, '--dim', '8', '--seed', '2'],
      { cwd: ROOT },
    );
    expect(stderr).toBe('');
    expect(stdout).toContain(`Wrote ${out}`);
    const params: ClipShapedParams = { imageSize: 32, patch: 16, width: 64, layers: 1, dim: 8, seed: 2 };
    expect(Buffer.from(await readFile(out)).equals(buildClipShapedEncoder(params).model)).toBe(true);
    expect(await readEncoderConfig(join(dir, 'cli', 'model.json'))).toMatchObject({ dim: 8 });
  });

  it('refuses an output path that is not an .onnx file', async () => {
    await expect(writeClipShapedEncoder(join(dir, 'model.bin'), TINY)).rejects.toThrow(
      '--out must name an .onnx file',
    );
  });
});
