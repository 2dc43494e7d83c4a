import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const args = ['--out', out, '--layers', '1', '--width', '64', '--image-size', '32', '--patch', '16'];
        const child = spawn(
          process.execPath,
          [join(ROOT, 'bin', 'genir.js'), 'models', 'build-clip-shaped', ...args, '--dim', '8', '--seed', '2'],
          { cwd: ROOT },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('close', (c) => resolve({ code: c, stdout, stderr }));
      },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
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
