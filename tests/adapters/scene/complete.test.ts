import { describe, expect, it } from 'vitest';
import { completeScene, jitterScene, sampleScene } from '../../../adapters/scene/index.ts';
import { createRng } from '../../../core/random.ts';

describe('completeScene', () => {
  it('draws one default object for an empty scene', () => {
    expect(completeScene({ objects: [] })).toEqual({
      background: 'white',
      objects: [{ shape: 'circle', colour: 'gray', size: 'medium', position: 'center', count: 1 }],
    });
  });

  it('keeps what was said and fills the rest with defaults', () => {
    expect(completeScene({ background: 'teal', objects: [{ shape: 'star', count: 3 }] })).toEqual({
      background: 'teal',
      objects: [{ shape: 'star', colour: 'gray', size: 'medium', position: 'center', count: 3 }],
    });
  });

  it('spreads objects without a position over distinct cells', () => {
    expect(
      completeScene({ objects: [{ shape: 'star' }, { shape: 'heart' }] }).objects.map((o) => o.position),
    ).toEqual(['left', 'right']);
    const three = completeScene({ objects: [{}, { position: 'left' }, {}] }).objects.map((o) => o.position);
    expect(three).toEqual(['center', 'left', 'right']);
  });

  it('drops object groups beyond three', () => {
    expect(completeScene({ objects: [{}, {}, {}, {}] }).objects).toHaveLength(3);
  });

  it('with an rng adds jitter only, never different attributes', () => {
    const partial = {
      background: 'pink' as const,
      objects: [{ shape: 'ring' as const }, { colour: 'blue' as const }],
    };
    const plain = completeScene(partial);
    const jittered = completeScene(partial, createRng(5));
    expect(jittered.jitter).toBeDefined();
    expect(jittered.objects.map(({ jitter, ...o }) => o)).toEqual(plain.objects);
    expect(jittered.objects.every((o) => o.jitter !== undefined)).toBe(true);
    expect(jittered.background).toBe(plain.background);
  });

  it('jitter is small and reproducible from the seed', () => {
    const scene = sampleScene(createRng(1));
    const a = jitterScene(scene, createRng(9));
    expect(jitterScene(scene, createRng(9))).toEqual(a);
    for (const o of a.objects) {
      expect(Math.abs(o.jitter?.dx ?? 1)).toBeLessThanOrEqual(0.03);
      expect(Math.abs(o.jitter?.rotation ?? 99)).toBeLessThanOrEqual(15);
      expect(o.jitter?.scale).toBeGreaterThan(0.85);
    }
  });
});
