/**
 * The encoder across the style gap, without any user: each target's own scene drawn as a perfect
 * flat sketch is the query; where does the target rank in the flat gallery and in the photo-style
 * gallery of the same scenes? (The tiny encoder was tuned on flat renders and is not re-tuned.)
 *
 * `npm run eval:style-gap -- <gallery size> <targets> <seed>`; reuses the eval galleries under data/.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RenderStyle, renderScene } from '../../adapters/scene/index.ts';
import { openSqliteStores } from '../../adapters/store/sqlite/index.ts';
import { loadConfig } from '../../bots/config.ts';
import { loadEncoder } from '../../bots/encoder.ts';
import { createRng } from '../../core/random.ts';
import { ensureEvalGallery } from './gallery.ts';
import { HIT_KS, medianRank } from './metrics.ts';
import { targetRank } from './run.ts';
import { sampleTargets } from './worlds.ts';

export async function styleGap(size: number, targets: number, seed: number, style: RenderStyle) {
  const encoder = await loadEncoder(loadConfig());
  const dir = join('data', `eval-${size}-${style}`);
  const stores = openSqliteStores(join(dir, 'genir.db'));
  try {
    const gallery = await ensureEvalGallery(dir, { size, seed: 1, style, crowd: 0 }, encoder, stores);
    const ranks: number[] = [];
    for (const id of sampleTargets(gallery.ids, targets, seed)) {
      const scene = gallery.scenes.get(id);
      if (!scene) throw new Error(`no scene for ${id}`);
      const png = await renderScene(scene, { size: 256, jitter: createRng(seed * 7_777 + ranks.length) });
      const [vector] = await encoder.embedImages([png]);
      ranks.push((await targetRank(gallery.index, vector as Float32Array, id, new Set(), size)).raw);
    }
    await gallery.index.flush();
    return {
      hits: Object.fromEntries(HIT_KS.map((k) => [k, ranks.filter((r) => r < k).length / ranks.length])),
      median: medianRank(ranks.map((r) => [r]))[0] as number,
    };
  } finally {
    stores.db.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [size, targets, seed] = [10_000, 200, 7].map((d, i) => Number(process.argv[2 + i] ?? d));
  console.log(
    `A perfect flat drawing of each target's scene as the query; ${targets} targets, seed ${seed}\n`,
  );
  console.log('| gallery style | Hits@1 | Hits@5 | Hits@10 | median rank |');
  console.log('|---|--:|--:|--:|--:|');
  for (const style of ['flat', 'photo'] as const) {
    const r = await styleGap(size as number, targets as number, seed as number, style);
    const pct = (k: number) => ((r.hits[k] ?? 0) * 100).toFixed(1);
    console.log(`| ${style} (${size} images) | ${pct(1)} | ${pct(5)} | ${pct(10)} | ${r.median} |`);
  }
}
