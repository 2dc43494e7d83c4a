import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { areaResizeRgb } from '../../../adapters/encode/onnx/area-resize.ts';
import { toRgbPixels } from '../../../adapters/encode/onnx/index.ts';
import { renderScene, sampleScene } from '../../../adapters/scene/index.ts';
import type { Preprocessing } from '../../../core/ports.ts';
import { createRng } from '../../../core/random.ts';

function noise(width: number, height: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng() * 256));
}

/** The mean of each f×f block, computed the obvious way. */
function blockMeans(src: Uint8Array, width: number, f: number): number[] {
  const ow = width / f;
  const oh = src.length / 3 / width / f;
  const out: number[] = [];
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++)
          for (let dx = 0; dx < f; dx++) s += src[((y * f + dy) * width + x * f + dx) * 3 + c]!;
        out.push(s / (f * f));
      }
  return out;
}

function channelMean(pixels: Uint8Array, c: number): number {
  let s = 0;
  for (let i = c; i < pixels.length; i += 3) s += pixels[i]!;
  return s / (pixels.length / 3);
}

describe('areaResizeRgb', () => {
  it('at an integer ratio, each output pixel is the mean of its block', () => {
    const src = noise(48, 32, 1);
    const out = areaResizeRgb(src, 48, 32, 12, 8);
    const expected = blockMeans(src, 48, 4);
    expect(out.length).toBe(expected.length);
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - expected[i]!)).toBeLessThanOrEqual(0.5);
  });

  it('keeps a flat colour flat at fractional ratios and windows', () => {
    const src = new Uint8Array(301 * 157 * 3);
    for (let i = 0; i < src.length; i += 3) src.set([200, 31, 7], i);
    const out = areaResizeRgb(src, 301, 157, 64, 64, { x: 72.5, y: 0, width: 157, height: 157 });
    for (let i = 0; i < out.length; i += 3) expect([out[i], out[i + 1], out[i + 2]]).toEqual([200, 31, 7]);
  });

  it('preserves the average colour of the window', () => {
    const src = noise(257, 191, 2);
    const out = areaResizeRgb(src, 257, 191, 37, 29);
    for (let c = 0; c < 3; c++) expect(channelMean(out, c)).toBeCloseTo(channelMean(src, c), 0);
  });

  it('a centre window drops what lies outside it', () => {
    // red | blue | red, the blue band exactly the centre square
    const width = 300;
    const height = 100;
    const src = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        src.set(x >= 100 && x < 200 ? [0, 0, 255] : [255, 0, 0], (y * width + x) * 3);
    const out = areaResizeRgb(src, width, height, 10, 10, { x: 100, y: 0, width: 100, height: 100 });
    for (let i = 0; i < out.length; i += 3) expect([out[i], out[i + 1], out[i + 2]]).toEqual([0, 0, 255]);
  });

  it('refuses to enlarge, a window outside the image, and a wrong byte count', () => {
    const src = noise(16, 16, 3);
    expect(() => areaResizeRgb(src, 16, 16, 32, 32)).toThrow(/only shrinks/);
    expect(() => areaResizeRgb(src, 16, 16, 4, 4, { x: 8, y: 0, width: 16, height: 16 })).toThrow(/outside/);
    expect(() => areaResizeRgb(src.subarray(1), 16, 16, 4, 4)).toThrow(/RGB bytes/);
  });
});

describe('toRgbPixels: small images are area-averaged, large ones shrunk by sharp', () => {
  const p: Preprocessing = { size: 64, resize: 'stretch', mean: [0, 0, 0], std: [1, 1, 1] };

  it('both paths agree on the same picture', async () => {
    const scene = sampleScene(createRng(7));
    const small = await renderScene(scene, { size: 256, jitter: createRng(1) }); // 16× the input area
    const large = await sharp(small).resize(1024, 1024, { kernel: 'nearest' }).png().toBuffer(); // 256×
    const a = await toRgbPixels(small, p);
    const b = await toRgbPixels(large, p);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(a.length).toBe(64 * 64 * 3);
    expect(diff / a.length).toBeLessThan(3);
  });

  it('enlarges an image smaller than the model input', async () => {
    const tiny = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const pixels = await toRgbPixels(tiny, p);
    expect(pixels.length).toBe(64 * 64 * 3);
    expect([pixels[0], pixels[1], pixels[2]]).toEqual([0x33, 0x66, 0xcc]);
  });
});
