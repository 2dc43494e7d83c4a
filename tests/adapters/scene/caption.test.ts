import { describe, expect, it } from 'vitest';
import {
  captionScene,
  completeScene,
  type PartialObject,
  type PartialScene,
  parseScene,
  sampleScene,
} from '../../../adapters/scene/index.ts';
import { createRng, pick } from '../../../core/random.ts';

/** A sampled scene with some attributes forgotten, as a person might describe it. */
function forget(rng: () => number, partial: PartialScene): PartialScene {
  const keys = ['shape', 'colour', 'size', 'position', 'count'] as const;
  const objects = partial.objects.map((o) => {
    const kept: PartialObject = {};
    for (const k of keys) if (rng() < 0.6 && o[k] !== undefined) Object.assign(kept, { [k]: o[k] });
    return kept;
  });
  return rng() < 0.5 && partial.background ? { background: partial.background, objects } : { objects };
}

/** "a star" says count 1 and nothing at all the same way. */
function withoutSingleCount(scene: PartialScene): PartialScene {
  return {
    ...scene,
    objects: scene.objects.map(({ count, ...rest }) => (count && count > 1 ? { ...rest, count } : rest)),
  };
}

describe('captionScene', () => {
  it('describes a full scene naturally', () => {
    expect(
      captionScene({
        background: 'teal',
        objects: [
          { shape: 'circle', colour: 'red', size: 'large', position: 'top-left', count: 1 },
          { shape: 'star', colour: 'blue', size: 'small', position: 'bottom-right', count: 2 },
        ],
      }),
    ).toBe(
      'a large red circle at the top left and two small blue stars at the bottom right on a teal background',
    );
  });

  it('lists three groups with a comma and uses "an" before vowels', () => {
    expect(
      captionScene({
        objects: [
          { shape: 'heart', colour: 'orange' },
          { shape: 'cross', count: 3, position: 'center' },
          { colour: 'pink', position: 'left' },
        ],
      }),
    ).toBe('an orange heart, three crosses in the center and a pink shape on the left');
  });

  it('says only what a partial scene knows', () => {
    expect(captionScene({ objects: [] })).toBe('');
    expect(captionScene({ background: 'orange', objects: [] })).toBe('an orange background');
    expect(captionScene({ objects: [{ count: 2 }] })).toBe('two shapes');
  });

  it('round-trips 500 sampled scenes through parseScene and completeScene', () => {
    const rng = createRng(2025);
    for (let i = 0; i < 500; i++) {
      const scene = sampleScene(rng);
      expect(completeScene(parseScene(captionScene(scene))), captionScene(scene)).toEqual(scene);
    }
  });

  it('round-trips 500 partial scenes through parseScene', () => {
    const rng = createRng(7);
    for (let i = 0; i < 500; i++) {
      const partial = forget(rng, sampleScene(rng));
      const caption = captionScene(partial);
      expect(withoutSingleCount(parseScene(caption)), caption).toEqual(withoutSingleCount(partial));
    }
  });

  it('round-trips captions of every colour as a background', () => {
    const rng = createRng(3);
    for (const background of ['red', 'orange', 'white', 'gray', 'black'] as const) {
      const scene = { ...sampleScene(rng), background };
      scene.objects = scene.objects.map((o) => ({ ...o, colour: pick(rng, ['teal', 'brown'] as const) }));
      expect(completeScene(parseScene(captionScene(scene)))).toEqual(scene);
    }
  });
});
