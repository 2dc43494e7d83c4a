import type { Rng } from '../../core/random.ts';
import { MAX_OBJECTS, type PartialObject, type PartialScene, type Scene, type SceneObject } from './scene.ts';
import { type Colour, POSITIONS, type Position, type Shape, type Size } from './vocabulary.ts';

export const DEFAULTS: { shape: Shape; colour: Colour; size: Size; background: Colour } = {
  shape: 'circle',
  colour: 'gray',
  size: 'medium',
  background: 'white',
};

/** Where objects without a stated position go, by number of objects, before any other free cell. */
const LAYOUTS: Record<number, readonly Position[]> = {
  1: ['center'],
  2: ['left', 'right'],
  3: ['left', 'center', 'right'],
};

/**
 * Fills what a text left unsaid with defaults. An empty scene becomes one default object. With an
 * rng it also adds drawing jitter (never different attributes).
 */
export function completeScene(partial: PartialScene, rng?: Rng): Scene {
  const given: PartialObject[] = partial.objects.slice(0, MAX_OBJECTS);
  const parts = given.length > 0 ? given : [{}];
  const taken = new Set(parts.map((p) => p.position));
  const free = [...(LAYOUTS[parts.length] ?? []), ...POSITIONS].filter((p) => !taken.has(p));
  const objects = parts.map(
    (p): SceneObject => ({
      shape: p.shape ?? DEFAULTS.shape,
      colour: p.colour ?? DEFAULTS.colour,
      size: p.size ?? DEFAULTS.size,
      position: p.position ?? nextFree(free, taken),
      count: p.count ?? 1,
    }),
  );
  const scene: Scene = { background: partial.background ?? DEFAULTS.background, objects };
  return rng ? jitterScene(scene, rng) : scene;
}

function nextFree(free: Position[], taken: Set<Position | undefined>): Position {
  const position = free.find((p) => !taken.has(p)) ?? 'center';
  taken.add(position);
  return position;
}

/** A copy of the scene with fresh random drawing variations (position, size, hue, rotation, texture). */
export function jitterScene(scene: Scene, rng: Rng): Scene {
  const between = (lo: number, hi: number) => lo + (hi - lo) * rng();
  const objects = scene.objects.map((o) => ({
    ...o,
    jitter: {
      dx: between(-0.03, 0.03),
      dy: between(-0.03, 0.03),
      scale: between(0.88, 1.12),
      rotation: between(-15, 15),
      hue: between(-10, 10),
      lightness: between(-0.06, 0.06),
      spread: between(-25, 25),
    },
  }));
  const specks = Array.from({ length: 4 }, () => ({
    x: rng(),
    y: rng(),
    r: between(0.04, 0.1),
    dark: rng() < 0.5,
    opacity: between(0.06, 0.14),
  }));
  return {
    ...scene,
    objects,
    jitter: { lightness: between(-0.05, 0.05), tile: between(0.04, 0.07), specks },
  };
}
