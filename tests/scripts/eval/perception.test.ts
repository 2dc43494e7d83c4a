/** The pixel reader on rendered scenes: exact on clear single objects, accurate on sampled scenes. */
import { describe, expect, it } from 'vitest';
import { renderScene, type Scene } from '../../../adapters/scene/index.ts';
import { createRng } from '../../../core/random.ts';
import { perceive } from '../../../scripts/eval/perception.ts';
import { measurePerception } from '../../../scripts/eval/perception-accuracy.ts';
import { addNoise, NO_NOISE } from '../../../scripts/eval/pixel-user.ts';

describe('perceive', () => {
  it('reads clear scenes attribute by attribute', async () => {
    const scenes: Scene[] = [
      {
        background: 'teal',
        objects: [{ shape: 'star', colour: 'yellow', size: 'large', position: 'top-left', count: 1 }],
      },
      {
        background: 'white',
        objects: [
          { shape: 'ring', colour: 'blue', size: 'medium', position: 'bottom-right', count: 1 },
          { shape: 'square', colour: 'red', size: 'small', position: 'left', count: 2 },
        ],
      },
      {
        background: 'black',
        objects: [{ shape: 'triangle', colour: 'orange', size: 'medium', position: 'center', count: 3 }],
      },
    ];
    for (const scene of scenes) {
      const seen = await perceive(await renderScene(scene, { size: 256 }));
      expect(seen.background).toBe(scene.background);
      const sorted = (os: Scene['objects']) => [...os].sort((a, b) => a.shape.localeCompare(b.shape));
      expect(sorted(seen.objects)).toEqual(sorted(scene.objects));
    }
  });

  it('is accurate on jittered sampled scenes (the docs give the full measurement)', async () => {
    const acc = await measurePerception(40, 7);
    expect(acc.scenes).toBe(40);
    expect(acc.background).toBeGreaterThan(0.95);
    expect(acc.shape).toBeGreaterThan(0.75);
    for (const k of ['colour', 'size', 'position', 'count'] as const) expect(acc[k]).toBeGreaterThan(0.85);
    expect(acc.extra).toBeLessThan(0.15);
  });

  it('photo-style pictures are harder to read, and still mostly readable', async () => {
    const flat = await measurePerception(30, 9, 'flat');
    const photo = await measurePerception(30, 9, 'photo');
    expect(photo.exact).toBeLessThan(flat.exact);
    expect(photo.background).toBeGreaterThan(0.8);
  });
});

describe('perception noise', () => {
  const seen = {
    background: 'white' as const,
    objects: Array.from({ length: 200 }, () => ({
      shape: 'star' as const,
      colour: 'red' as const,
      size: 'small' as const,
      position: 'center' as const,
      count: 1 as const,
    })),
  };

  it('without noise the percept is unchanged', () => {
    expect(addNoise(seen, NO_NOISE, createRng(1))).toBe(seen);
  });

  it('misses objects, names neighbouring colours and shifts positions at about the given rates', () => {
    const noisy = addNoise(seen, { miss: 0.2, colour: 0.3, position: 0.4 }, createRng(3));
    const kept = noisy.objects.length / 200;
    expect(kept).toBeGreaterThan(0.7);
    expect(kept).toBeLessThan(0.9);
    const recoloured = noisy.objects.filter((o) => o.colour !== 'red');
    expect(recoloured.length / noisy.objects.length).toBeGreaterThan(0.2);
    expect(recoloured.length / noisy.objects.length).toBeLessThan(0.4);
    for (const o of recoloured) expect(['orange', 'pink', 'brown']).toContain(o.colour);
    const moved = noisy.objects.filter((o) => o.position !== 'center');
    expect(moved.length / noisy.objects.length).toBeGreaterThan(0.3);
    expect(moved.length / noisy.objects.length).toBeLessThan(0.5);
  });
});
