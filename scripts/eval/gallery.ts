/**
 * The gallery of the perceiving-user world: scenes sampled from the grammar, rendered flat or as
 * "photos" (adapters/scene/render.ts), optionally crowded (each scene comes with near-duplicates
 * that differ in one attribute). Built once per settings in its folder and reused.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ExactIndex } from '../../adapters/index/exact/exact-index.ts';
import type { Progress } from '../../adapters/progress/index.ts';
import {
  COLOURS,
  type Count,
  POSITIONS,
  type RenderStyle,
  renderScene,
  type Scene,
  SIZES,
  sampleScene,
} from '../../adapters/scene/index.ts';
import type { SqliteStores } from '../../adapters/store/sqlite/index.ts';
import { headerOf } from '../../bots/encoder.ts';
import type { ImageEncoder } from '../../core/ports.ts';
import { createRng, type Rng } from '../../core/random.ts';

export interface EvalGallerySettings {
  size: number;
  seed: number;
  style: RenderStyle;
  /** Near-duplicates per scene (0: none); the gallery still holds `size` images. */
  crowd: number;
}

export interface EvalGallery {
  index: ExactIndex;
  ids: string[];
  /** The scenes behind the pictures: for measuring only, never shown to a simulated user. */
  scenes: Map<string, Scene>;
}

const idOf = (i: number) => `scene-${String(i).padStart(6, '0')}`;

/** One attribute of one object (or the background) changed. */
export function nearDuplicate(scene: Scene, rng: Rng): Scene {
  const pickOf = <T>(items: readonly T[], not: T): T => {
    const others = items.filter((x) => x !== not);
    return others[Math.floor(rng() * others.length)] as T;
  };
  const objects = scene.objects.map((o) => ({ ...o }));
  const i = Math.floor(rng() * objects.length);
  const o = objects[i];
  const what = Math.floor(rng() * 5);
  if (!o || what === 0) return { ...scene, objects, background: pickOf(COLOURS, scene.background) };
  if (what === 1) o.colour = pickOf(COLOURS, o.colour);
  else if (what === 2) o.size = pickOf(SIZES, o.size);
  else if (what === 3) {
    const taken = new Set(objects.map((x) => x.position));
    o.position = pickOf(
      POSITIONS.filter((p) => !taken.has(p) || p === o.position),
      o.position,
    );
  } else o.count = pickOf([1, 2, 3] as Count[], o.count);
  return { ...scene, objects };
}

function sceneList(settings: EvalGallerySettings): Scene[] {
  const rng = createRng(settings.seed);
  const scenes: Scene[] = [];
  while (scenes.length < settings.size) {
    const base = sampleScene(rng);
    scenes.push(base);
    for (let k = 0; k < settings.crowd && scenes.length < settings.size; k++)
      scenes.push(nearDuplicate(base, rng));
  }
  return scenes;
}

/** Builds (or reopens) the gallery in `dir`, indexed with `encoder`, assets in `stores.gallery`. */
export async function ensureEvalGallery(
  dir: string,
  settings: EvalGallerySettings,
  encoder: ImageEncoder,
  stores: SqliteStores,
  progress?: Progress,
): Promise<EvalGallery> {
  const manifestPath = join(dir, 'manifest.json');
  const indexPath = join(dir, 'index.exact');
  const wanted = { ...settings, encoderId: encoder.id };
  const scenes = sceneList(settings);
  const ids = scenes.map((_, i) => idOf(i));
  const byId = new Map(ids.map((id, i) => [id, scenes[i] as Scene]));
  const existing = await readFile(manifestPath, 'utf8').then(
    (t) => JSON.parse(t) as Record<string, unknown>,
    () => null,
  );
  if (existing && JSON.stringify(existing) === JSON.stringify(wanted)) {
    const index = await ExactIndex.open(indexPath, headerOf(encoder));
    if ((await index.size()) === settings.size) return { index, ids, scenes: byId };
    await index.flush();
  }
  await rm(manifestPath, { force: true });
  await rm(indexPath, { force: true });
  const images = resolve(dir, 'images');
  await rm(images, { recursive: true, force: true });
  await mkdir(images, { recursive: true });
  const index = await ExactIndex.open(indexPath, headerOf(encoder));
  const batch = 64;
  const render = (from: number) =>
    Promise.all(
      scenes.slice(from, from + batch).map(async (scene, j) => {
        const i = from + j;
        const png = await renderScene(scene, {
          size: 256,
          jitter: createRng(settings.seed * 1_000_003 + i),
          style: settings.style,
        });
        await writeFile(join(images, `${idOf(i)}.png`), png);
        return png;
      }),
    );
  progress?.start(scenes.length);
  let next = render(0);
  for (let from = 0; from < scenes.length; from += batch) {
    const pngs = await next;
    if (from + batch < scenes.length) next = render(from + batch);
    const vectors = await encoder.embedImages(pngs);
    const slice = ids.slice(from, from + batch);
    await index.upsert(slice.map((id, j) => ({ id, vector: vectors[j] as Float32Array })));
    await stores.gallery.upsertAssets(
      slice.map((id) => ({ id, source: join(images, `${id}.png`), title: id, width: 256, height: 256 })),
    );
    progress?.update(Math.min(scenes.length, from + batch));
  }
  progress?.stop();
  await index.flush();
  await writeFile(manifestPath, JSON.stringify(wanted));
  return { index, ids, scenes: byId };
}
