/**
 * The failure modes of real text-to-image models, for the sketch generator (GenIR reports them):
 * hallucinated objects that commonly go with a drawn one, unspecified attributes filled at random
 * instead of with defaults, attributes bound to the wrong object, and pictures that stop changing
 * in late rounds while the query still does. Each has a rate in 0..1.
 */
import { hashString, type Rng } from '../../../core/random.ts';
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
  /**
   * A long query saturates the model: each detail past the first few is, at this rate, never drawn
   * (the same details every time, whatever the seed), so the corrections of late rounds, which
   * make the query long, often leave the picture as it was.
   */
  stagnation: number;
}

export const NO_ERRORS: SketchErrors = { hallucination: 0, randomFill: 0, binding: 0, stagnation: 0 };

/** Details a saturated model still draws, in the query's order. */
const ATTENDED_DETAILS = 4;

const DETAILS = ['colour', 'size', 'position'] as const;

/** The query with the details a saturated model leaves out (a stable choice per detail). */
function saturate(partial: PartialScene, rate: number): PartialScene {
  if (rate <= 0) return partial;
  let seen = partial.background === undefined ? 0 : 1;
  const objects = partial.objects.map((o, i) => {
    const kept = { ...o };
    for (const detail of DETAILS) {
      if (o[detail] === undefined) continue;
      seen += 1;
      if (seen > ATTENDED_DETAILS && hashString(`${i}:${detail}`) / 2 ** 32 < rate) delete kept[detail];
    }
    return kept;
  });
  return { ...partial, objects };
}

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
export function errScene(query: PartialScene, rates: SketchErrors, rng: Rng): Scene {
  const partial = saturate(query, rates.stagnation);
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
