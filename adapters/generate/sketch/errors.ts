/**
 * The failure modes of real text-to-image models, for the sketch generator (GenIR reports them):
 * hallucinated objects that commonly go with a drawn one, unspecified attributes filled at random
 * instead of with defaults, and attributes bound to the wrong object. Each has a rate in 0..1.
 */
import type { Rng } from '../../../core/random.ts';
import {
  COLOURS,
  completeScene,
  MAX_OBJECTS,
  type PartialScene,
  POSITIONS,
  type Scene,
  type Shape,
  SIZES,
} from '../../scene/index.ts';

export interface SketchErrors {
  /** Adds an object that commonly co-occurs with the first one. */
  hallucination: number;
  /** Fills each unsaid attribute with a random value instead of the default. */
  randomFill: number;
  /** Swaps the colours of two objects. */
  binding: number;
}

export const NO_ERRORS: SketchErrors = { hallucination: 0, randomFill: 0, binding: 0 };

/** What the generator "expects" next to each shape (a fixed co-occurrence table of this world). */
const COMPANION: Record<Shape, Shape> = {
  circle: 'ring',
  ring: 'circle',
  square: 'diamond',
  diamond: 'square',
  triangle: 'star',
  star: 'triangle',
  heart: 'star',
  hexagon: 'pentagon',
  pentagon: 'hexagon',
  cross: 'square',
};

const anyOf = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;

/** The scene an erring model draws for a parsed query. */
export function errScene(partial: PartialScene, rates: SketchErrors, rng: Rng): Scene {
  const filled: PartialScene = {
    ...partial,
    objects: partial.objects.map((o) => ({
      ...o,
      ...(o.colour === undefined && rng() < rates.randomFill ? { colour: anyOf(rng, COLOURS) } : {}),
      ...(o.size === undefined && rng() < rates.randomFill ? { size: anyOf(rng, SIZES) } : {}),
      ...(o.position === undefined && rng() < rates.randomFill ? { position: anyOf(rng, POSITIONS) } : {}),
    })),
  };
  if (filled.background === undefined && rng() < rates.randomFill) filled.background = anyOf(rng, COLOURS);
  const scene = completeScene(filled);
  const objects = [...scene.objects];
  if (objects.length >= 2 && rng() < rates.binding) {
    const [a, b] = [objects[0], objects[1]] as [Scene['objects'][0], Scene['objects'][0]];
    objects[0] = { ...a, colour: b.colour };
    objects[1] = { ...b, colour: a.colour };
  }
  const first = objects[0];
  if (first && objects.length < MAX_OBJECTS && rng() < rates.hallucination) {
    const taken = new Set(objects.map((o) => o.position));
    const free = POSITIONS.filter((p) => !taken.has(p));
    objects.push({
      shape: COMPANION[first.shape],
      colour: anyOf(
        rng,
        COLOURS.filter((c) => c !== scene.background),
      ),
      size: anyOf(rng, SIZES),
      position: anyOf(rng, free),
      count: 1,
    });
  }
  return { ...scene, objects };
}
