import { createRng, pick, type Rng } from '../core/random.ts';
import { COLOURS, POSITIONS, renderScene, sampleScene, type Scene, SHAPES, SIZES } from '../core/scene/index.ts';
export type Attr = 'colour' | 'shape' | 'position' | 'background' | 'size';
export function mutate(scene: Scene, attr: Attr, rng: Rng): Scene {
  const s: Scene = structuredClone(scene);
  const o = s.objects[Math.floor(rng() * s.objects.length)]!;
  if (attr === 'colour') o.colour = pick(rng, COLOURS.filter((c) => c !== o.colour && c !== s.background));
  if (attr === 'shape') o.shape = pick(rng, SHAPES.filter((x) => !s.objects.some((y) => y.shape === x)));
  if (attr === 'size') o.size = pick(rng, SIZES.filter((x) => x !== o.size));
  if (attr === 'position') o.position = pick(rng, POSITIONS.filter((p) => !s.objects.some((y) => y.position === p)));
  if (attr === 'background') s.background = pick(rng, COLOURS.filter((c) => c !== s.background && !s.objects.some((y) => y.colour === c)));
  return s;
}
export { createRng, renderScene, sampleScene };
