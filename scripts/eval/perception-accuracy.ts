/**
 * How well the pixel reader (perception.ts) sees rendered scenes: per-attribute accuracy against
 * the scenes the pictures were rendered from. The measuring side knows the scenes; the reader
 * never does.
 */
import { type RenderStyle, renderScene, type Scene, sampleScene } from '../../adapters/scene/index.ts';
import { createRng } from '../../core/random.ts';
import { perceive } from './perception.ts';
import { matchObjects } from './scene-diff.ts';

export interface PerceptionAccuracy {
  scenes: number;
  objects: number;
  background: number;
  /** True objects found with the right shape. */
  shape: number;
  /** Among the objects found with the right shape: */
  colour: number;
  size: number;
  position: number;
  count: number;
  /** Perceived objects per true object that are not there. */
  extra: number;
  /** Every attribute of every object and the background right. */
  exact: number;
}

export async function measurePerception(
  n: number,
  seed: number,
  style: RenderStyle = 'flat',
): Promise<PerceptionAccuracy> {
  const rng = createRng(seed);
  const tally = { background: 0, shape: 0, colour: 0, size: 0, position: 0, count: 0, extra: 0, exact: 0 };
  let objects = 0;
  for (let i = 0; i < n; i++) {
    const scene: Scene = sampleScene(rng);
    const png = await renderScene(scene, { size: 256, jitter: createRng(seed * 7919 + i), style });
    const seen = await perceive(png);
    const { pairs, extra } = matchObjects(scene.objects, seen.objects);
    objects += scene.objects.length;
    const same = pairs.filter(([t, s]) => t.shape === s.shape);
    tally.background += seen.background === scene.background ? 1 : 0;
    tally.shape += same.length;
    tally.extra += extra.length;
    let exact = seen.background === scene.background && seen.objects.length === scene.objects.length;
    for (const [t, s] of pairs) {
      const right = {
        colour: t.colour === s.colour,
        size: t.size === s.size,
        position: t.position === s.position,
        count: t.count === s.count,
      };
      if (t.shape === s.shape)
        for (const k of Object.keys(right) as (keyof typeof right)[]) tally[k] += right[k] ? 1 : 0;
      exact &&= t.shape === s.shape && Object.values(right).every(Boolean);
    }
    tally.exact += exact ? 1 : 0;
  }
  const found = tally.shape || 1;
  return {
    scenes: n,
    objects,
    background: tally.background / n,
    shape: tally.shape / objects,
    colour: tally.colour / found,
    size: tally.size / found,
    position: tally.position / found,
    count: tally.count / found,
    extra: tally.extra / objects,
    exact: tally.exact / n,
  };
}
