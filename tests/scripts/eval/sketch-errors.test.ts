/** The sketch generator's failure modes (the eval's erring generator) and the crowded gallery. */
import { describe, expect, it } from 'vitest';
import { errScene, NO_ERRORS } from '../../../adapters/generate/sketch/errors.ts';
import { SketchGenerator } from '../../../adapters/generate/sketch/index.ts';
import { completeScene, parseScene, type Scene } from '../../../adapters/scene/index.ts';
import { createRng } from '../../../core/random.ts';
import { nearDuplicate } from '../../../scripts/eval/gallery.ts';

const query = parseScene('a large red star at the top left and a small blue circle on a teal background');

describe('errScene', () => {
  it('with no errors draws exactly what the query says, defaults filling the rest', () => {
    for (let seed = 0; seed < 20; seed++)
      expect(errScene(query, NO_ERRORS, createRng(seed))).toEqual(completeScene(query));
  });

  it('hallucination adds the object that goes with the first one', () => {
    const scene = errScene(query, { ...NO_ERRORS, hallucination: 1 }, createRng(1));
    expect(scene.objects).toHaveLength(3);
    expect(scene.objects[2]?.shape).toBe('triangle');
    expect(scene.objects[2]?.colour).not.toBe('teal');
  });

  it('binding errors swap the colours of two objects', () => {
    const scene = errScene(query, { ...NO_ERRORS, binding: 1 }, createRng(1));
    expect(scene.objects.map((o) => [o.shape, o.colour])).toEqual([
      ['star', 'blue'],
      ['circle', 'red'],
    ]);
  });

  it('random filling changes only what the query left unsaid', () => {
    const changed = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const scene = errScene(query, { ...NO_ERRORS, randomFill: 1 }, createRng(seed));
      expect(scene.background).toBe('teal');
      expect(scene.objects[0]).toMatchObject({
        shape: 'star',
        colour: 'red',
        size: 'large',
        position: 'top-left',
      });
      expect(scene.objects[1]).toMatchObject({ shape: 'circle', colour: 'blue', size: 'small' });
      changed.add(scene.objects[1]?.position as string);
    }
    expect(changed.size).toBeGreaterThan(3);
  });

  it('stagnation: past the first details of a long query, corrections stop showing, whatever the seed', () => {
    const stalled = { ...NO_ERRORS, stagnation: 1 };
    const blue = parseScene('a large red star at the top left and a small blue circle on a teal background');
    const green = parseScene(
      'a large red star at the top left and a small green circle on a teal background',
    );
    for (let seed = 0; seed < 10; seed++) {
      const a = errScene(blue, stalled, createRng(seed));
      expect(errScene(green, stalled, createRng(seed + 100))).toEqual(a);
      expect(a.objects[0]).toMatchObject({
        shape: 'star',
        colour: 'red',
        size: 'large',
        position: 'top-left',
      });
      expect(a.background).toBe('teal');
    }
    // Without it, the correction shows; a short query keeps every detail even at rate 1.
    expect(errScene(green, NO_ERRORS, createRng(1))).not.toEqual(errScene(blue, NO_ERRORS, createRng(1)));
    const short = parseScene('a small blue circle on a teal background');
    expect(errScene(short, stalled, createRng(1))).toEqual(completeScene(short));
  });

  it('the generator checks its rates and names them in its id', () => {
    expect(new SketchGenerator().id).toBe('sketch');
    expect(new SketchGenerator({ errors: { binding: 0.2 } }).id).toBe('sketch+errors(binding=0.2)');
    expect(() => new SketchGenerator({ errors: { hallucination: 2 } })).toThrow(
      /hallucination must be in 0\.\.1/,
    );
  });
});

describe('nearDuplicate', () => {
  it('changes exactly one attribute of one object or the background', () => {
    const base: Scene = {
      background: 'white',
      objects: [
        { shape: 'star', colour: 'red', size: 'large', position: 'top-left', count: 1 },
        { shape: 'ring', colour: 'blue', size: 'small', position: 'center', count: 2 },
      ],
    };
    const rng = createRng(4);
    for (let i = 0; i < 50; i++) {
      const dup = nearDuplicate(base, rng);
      const diffs =
        (dup.background !== base.background ? 1 : 0) +
        dup.objects.reduce(
          (s, o, j) =>
            s +
            (['shape', 'colour', 'size', 'position', 'count'] as const).filter(
              (k) => o[k] !== base.objects[j]?.[k],
            ).length,
          0,
        );
      expect(diffs).toBe(1);
    }
  });
});
