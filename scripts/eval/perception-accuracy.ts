/**
 * How well the pixel reader (perception.ts) sees rendered scenes: per-attribute accuracy against
 * the scenes the pictures were rendered from. The measuring side knows the scenes; the reader
 * never does.
 */
import { pathToFileURL } from 'node:url';
import {
  completeScene,
  parseScene,
  type RenderStyle,
  renderScene,
  type Scene,
  sampleScene,
} from '../../adapters/scene/index.ts';
import { createRng } from '../../core/random.ts';
import { fullDescription } from './paraphrase.ts';
import { perceive } from './perception.ts';
import { matchObjects, plainScene } from './scene-diff.ts';

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

/** Share of round-0 descriptions (paraphrased) that the rule refiner's parser reads back exactly. */
export function descriptionsUnderstood(n: number, seed: number): number {
  const rng = createRng(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rng() * items.length)] as T;
  let exact = 0;
  for (let i = 0; i < n; i++) {
    const scene = plainScene(sampleScene(rng));
    const read = plainScene(completeScene(parseScene(fullDescription(scene, pick))));
    if (JSON.stringify(read) === JSON.stringify(scene)) exact++;
  }
  return exact / n;
}

// `npm run eval:perception [-- scenes seed]`: the tables of docs/eval.md.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 500);
  const seed = Number(process.argv[3] ?? 202);
  const pct = (x: number) => (x * 100).toFixed(1);
  console.log(`${n} sampled scenes per style, seed ${seed}\n`);
  console.log(
    '| style | background | shape (found) | colour | size | position | count | extra objects per object | whole scene exact |',
  );
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const style of ['flat', 'photo'] as const) {
    const a = await measurePerception(n, seed, style);
    console.log(
      `| ${style} | ${pct(a.background)} | ${pct(a.shape)} | ${pct(a.colour)} | ${pct(a.size)} | ${pct(a.position)} | ${pct(a.count)} | ${a.extra.toFixed(3)} | ${pct(a.exact)} |`,
    );
  }
  console.log(
    `\nRound-0 descriptions the rule refiner reads back exactly: ${pct(descriptionsUnderstood(n, seed))} %`,
  );
}
