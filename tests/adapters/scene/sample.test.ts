import { describe, expect, it } from 'vitest';
import { COLOURS, POSITIONS, SHAPES, SIZES, sampleScene } from '../../../adapters/scene/index.ts';
import { createRng } from '../../../core/random.ts';

describe('sampleScene', () => {
  const rng = createRng(11);
  const scenes = Array.from({ length: 1000 }, () => sampleScene(rng));

  it('makes valid scenes with 1–3 groups at distinct positions, none the colour of the background', () => {
    for (const s of scenes) {
      expect(s.objects.length).toBeGreaterThanOrEqual(1);
      expect(s.objects.length).toBeLessThanOrEqual(3);
      expect(new Set(s.objects.map((o) => o.position)).size).toBe(s.objects.length);
      expect(new Set(s.objects.map((o) => o.shape)).size).toBe(s.objects.length);
      for (const o of s.objects) {
        expect(o.colour).not.toBe(s.background);
        expect(SHAPES).toContain(o.shape);
        expect(SIZES).toContain(o.size);
        expect(POSITIONS).toContain(o.position);
        expect([1, 2, 3]).toContain(o.count);
      }
    }
  });

  it('mostly samples one or two groups and covers the whole vocabulary', () => {
    const byCount = [1, 2, 3].map((n) => scenes.filter((s) => s.objects.length === n).length / scenes.length);
    expect(byCount[0]! + byCount[1]!).toBeGreaterThan(0.75);
    expect(byCount[2]).toBeGreaterThan(0.05);
    const objects = scenes.flatMap((s) => s.objects);
    expect(new Set(objects.map((o) => o.shape)).size).toBe(SHAPES.length);
    expect(new Set(objects.map((o) => o.colour)).size).toBe(COLOURS.length);
    expect(new Set(objects.map((o) => o.position)).size).toBe(POSITIONS.length);
    expect(new Set(scenes.map((s) => s.background)).size).toBe(COLOURS.length);
  });

  it('is reproducible from the seed', () => {
    expect(sampleScene(createRng(4))).toEqual(sampleScene(createRng(4)));
  });
});
