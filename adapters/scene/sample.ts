import { pick, type Rng, shuffle } from '../../core/random.ts';
import type { Scene, SceneObject } from './scene.ts';
import { COLOURS, type Count, POSITIONS, SHAPES, SIZES } from './vocabulary.ts';

/**
 * A random scene: mostly one or two object groups (45% / 38% / 17%), distinct shapes and
 * positions, single objects more often than pairs or triples, white backgrounds 40% of the time,
 * and no object the colour of its background.
 */
export function sampleScene(rng: Rng): Scene {
  const r = rng();
  const n = r < 0.45 ? 1 : r < 0.83 ? 2 : 3;
  const background = rng() < 0.4 ? 'white' : pick(rng, COLOURS);
  const shapes = shuffle(rng, SHAPES);
  const positions = shuffle(rng, POSITIONS);
  const colours = COLOURS.filter((c) => c !== background);
  const objects = Array.from(
    { length: n },
    (_, i): SceneObject => ({
      shape: shapes[i] as SceneObject['shape'],
      colour: pick(rng, colours),
      size: pick(rng, SIZES),
      position: positions[i] as SceneObject['position'],
      count: sampleCount(rng),
    }),
  );
  return { background, objects };
}

function sampleCount(rng: Rng): Count {
  const r = rng();
  return r < 0.6 ? 1 : r < 0.85 ? 2 : 3;
}
