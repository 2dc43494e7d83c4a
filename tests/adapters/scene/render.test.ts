import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  COLOUR_RGB,
  completeScene,
  parseScene,
  renderScene,
  type Scene,
  SHAPES,
  sampleScene,
} from '../../../adapters/scene/index.ts';
import { createRng } from '../../../core/random.ts';

async function pixels(
  png: Buffer,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Mean absolute difference per channel value, 0..255. */
function difference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

function pixelAt(p: { data: Buffer; width: number; channels: number }, x: number, y: number): number[] {
  const i = (y * p.width + x) * p.channels;
  return [...p.data.subarray(i, i + 3)];
}

const scene: Scene = completeScene(
  parseScene(
    'a large red circle at the top left and two small blue stars at the bottom right on a teal background',
  ),
);

describe('renderScene', () => {
  it('renders a PNG of the requested size', async () => {
    for (const size of [256, 64, 500]) {
      const meta = await sharp(await renderScene(scene, { size })).metadata();
      expect(meta).toMatchObject({ format: 'png', width: size, height: size, channels: 3 });
    }
  });

  it('paints the background and the objects where the scene puts them', async () => {
    const p = await pixels(await renderScene(scene));
    expect(pixelAt(p, 128, 128)).toEqual([...COLOUR_RGB.teal]);
    expect(pixelAt(p, 43, 43)).toEqual([...COLOUR_RGB.red]);
    const blue = COLOUR_RGB.blue;
    let bluePixels = 0;
    for (let y = 171; y < 256; y++) {
      for (let x = 171; x < 256; x++) if (pixelAt(p, x, y).every((v, k) => v === blue[k])) bluePixels++;
    }
    expect(bluePixels).toBeGreaterThan(200);
  });

  it('is deterministic without jitter', async () => {
    expect((await renderScene(scene)).equals(await renderScene(scene))).toBe(true);
  });

  it('jitter changes pixels a little, reproducibly per seed', async () => {
    const plain = (await pixels(await renderScene(scene))).data;
    const a = (await pixels(await renderScene(scene, { jitter: createRng(1) }))).data;
    const b = (await pixels(await renderScene(scene, { jitter: createRng(2) }))).data;
    const again = (await pixels(await renderScene(scene, { jitter: createRng(1) }))).data;
    expect(again.equals(a)).toBe(true);
    expect(difference(a, b)).toBeGreaterThan(0.5);
    expect(difference(plain, a)).toBeGreaterThan(0.5);
    // Still the same picture: far closer to its unjittered self than to another scene.
    const other = (await pixels(await renderScene(completeScene(parseScene('a big yellow heart on white')))))
      .data;
    expect(difference(plain, a)).toBeLessThan(difference(plain, other) / 3);
  });

  it('draws every shape, size and count differently', async () => {
    const base = { background: 'white', objects: [] } as const;
    const renders = new Set<string>();
    for (const shape of SHAPES) {
      for (const count of [1, 3] as const) {
        const png = await renderScene(
          { ...base, objects: [{ shape, colour: 'green', size: 'large', position: 'center', count }] },
          { size: 96 },
        );
        renders.add(png.toString('base64'));
      }
    }
    expect(renders.size).toBe(SHAPES.length * 2);
  });

  it('keeps large groups inside the picture at the edges', async () => {
    const corner: Scene = {
      background: 'white',
      objects: [{ shape: 'star', colour: 'black', size: 'large', position: 'top-left', count: 3 }],
    };
    const p = await pixels(await renderScene(corner, { size: 128 }));
    for (let i = 0; i < 128; i++) {
      expect(pixelAt(p, i, 0)).toEqual([...COLOUR_RGB.white]);
      expect(pixelAt(p, 0, i)).toEqual([...COLOUR_RGB.white]);
    }
  });

  it('renders sampled scenes with jitter', async () => {
    const rng = createRng(99);
    for (let i = 0; i < 20; i++) {
      const meta = await sharp(await renderScene(sampleScene(rng), { jitter: rng, size: 128 })).metadata();
      expect(meta.width).toBe(128);
    }
  });

  it('refuses absurd sizes', async () => {
    await expect(renderScene(scene, { size: 0 })).rejects.toThrow(RangeError);
    await expect(renderScene(scene, { size: 100_000 })).rejects.toThrow(RangeError);
  });
});
