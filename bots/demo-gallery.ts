/**
 * The offline demo gallery: scenes sampled from the scene grammar, rendered to PNG files under
 * DATA_DIR/demo-gallery with a manifest, and indexed exactly (DATA_DIR/index/demo.exact).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ExactIndex } from '../adapters/index/exact/index.ts';
import { ThumbnailStore } from '../adapters/pictures/sharp/index.ts';
import { type Progress, silentProgress } from '../adapters/progress/index.ts';
import { captionScene, renderScene, type Scene, sampleScene } from '../adapters/scene/index.ts';
import type { WritableGallery } from '../adapters/store/asset-file.ts';
import type { ImageEncoder, IndexHeader, VectorIndex } from '../core/ports.ts';
import { createRng } from '../core/random.ts';
import type { Asset } from '../core/types.ts';
import type { Config } from './config.ts';
import { headerOf } from './encoder.ts';

export interface DemoManifestEntry {
  id: string;
  file: string;
  caption: string;
  scene: Scene;
}

export interface DemoManifest {
  seed: number;
  count: number;
  encoderId: string;
  scenes: DemoManifestEntry[];
}

export interface DemoGalleryOptions {
  dir: string;
  count: number;
  seed: number;
  encoder: ImageEncoder;
  index: VectorIndex;
  gallery: WritableGallery;
  progress?: Progress;
  /** Scenes rendered and encoded per batch. */
  batch?: number;
  /** Where the contact sheet's thumbnails of the scenes are made (default: none). */
  thumbnails?: ThumbnailStore;
}

export const demoAssetId = (i: number): string => `demo-${String(i).padStart(6, '0')}`;

export async function readDemoManifest(dir: string): Promise<DemoManifest | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as DemoManifest;
  } catch {
    return null;
  }
}

/** What a built gallery is (the manifest without its scenes), read at every start instead of the manifest. */
type DemoStamp = Omit<DemoManifest, 'scenes'>;

async function readDemoStamp(dir: string): Promise<DemoStamp | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'built.json'), 'utf8')) as DemoStamp;
  } catch {
    // Built before the stamp was written: the manifest says the same (a large file: slower).
    return readDemoManifest(dir);
  }
}

/** True when the demo gallery on disk matches what is asked and is fully indexed. */
export async function demoGalleryReady(
  options: Pick<DemoGalleryOptions, 'dir' | 'count' | 'seed' | 'index'> & { encoderId: string },
) {
  const manifest = await readDemoStamp(options.dir);
  return (
    manifest !== null &&
    manifest.count === options.count &&
    manifest.seed === options.seed &&
    manifest.encoderId === options.encoderId &&
    (await options.index.size()) === options.count
  );
}

/**
 * Samples `count` scenes from the scene grammar (seeded), renders each with visual jitter to a
 * PNG, and indexes them. Rendering of the next batch overlaps encoding of the current one.
 */
export async function buildDemoGallery(options: DemoGalleryOptions): Promise<DemoManifest> {
  const { dir, count, seed, encoder, index, gallery } = options;
  const batch = options.batch ?? 64;
  const imagesDir = resolve(dir, 'images');
  await rm(join(dir, 'built.json'), { force: true });
  await rm(imagesDir, { recursive: true, force: true });
  await rm(resolve(dir, 'thumbnails'), { recursive: true, force: true });
  await mkdir(imagesDir, { recursive: true });
  const existing = await index.size();
  if (existing > 0) {
    throw new Error(`the demo index already holds ${existing} vectors; open it fresh to rebuild`);
  }

  const rng = createRng(seed);
  const entries: DemoManifestEntry[] = [];
  for (let i = 0; i < count; i++) {
    const scene = sampleScene(rng);
    entries.push({
      id: demoAssetId(i),
      file: `images/${demoAssetId(i)}.png`,
      caption: captionScene(scene),
      scene,
    });
  }

  const render = async (from: number) => {
    const slice = entries.slice(from, from + batch);
    return Promise.all(
      slice.map(async (e, j) => {
        const png = await renderScene(e.scene, { size: 256, jitter: createRng(seed * 1_000_003 + from + j) });
        await writeFile(join(dir, e.file), png);
        return png;
      }),
    );
  };

  options.progress?.start(count);
  let next = render(0);
  for (let from = 0; from < count; from += batch) {
    const pngs = await next;
    if (from + batch < count) next = render(from + batch);
    const vectors = await encoder.embedImages(pngs);
    const slice = entries.slice(from, from + batch);
    await index.upsert(slice.map((e, j) => ({ id: e.id, vector: vectors[j] as Float32Array })));
    const assets: Asset[] = slice.map((e, j) => ({
      id: e.id,
      source: resolve(dir, e.file),
      title: e.caption,
      width: 256,
      height: 256,
      caption: e.caption,
      hash: createHash('sha256')
        .update(pngs[j] as Buffer)
        .digest('hex'),
    }));
    if (options.thumbnails) {
      const thumbnails = options.thumbnails;
      await Promise.all(assets.map((a, j) => thumbnails.put(a.hash as string, pngs[j] as Buffer)));
    }
    await gallery.upsertAssets(assets);
    options.progress?.update(Math.min(count, from + batch));
  }
  await index.flush();
  const stamp: DemoStamp = { seed, count, encoderId: encoder.id };
  const manifest: DemoManifest = { ...stamp, scenes: entries };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await writeFile(join(dir, 'built.json'), JSON.stringify(stamp));
  options.progress?.stop();
  return manifest;
}

export const demoDir = (config: Config) => join(config.DATA_DIR, 'demo-gallery');
export const demoIndexPath = (config: Config) => join(config.DATA_DIR, 'index', 'demo.exact');

/**
 * Opens the demo gallery's index, building the gallery first when it is missing or stale. With
 * `header` (from the encoder's config file), a ready gallery opens while the encoder is still loading.
 */
export async function ensureDemoGallery(
  config: Config,
  encoder: ImageEncoder | Promise<ImageEncoder>,
  stores: { gallery: WritableGallery },
  options: {
    rebuild?: boolean;
    progress?: Progress;
    log?: (line: string) => void;
    header?: IndexHeader;
  } = {},
): Promise<ExactIndex> {
  const base = { dir: demoDir(config), count: config.DEMO_GALLERY_SIZE, seed: config.DEMO_GALLERY_SEED };
  const path = demoIndexPath(config);
  if (!options.rebuild) {
    const header = options.header ?? headerOf(await encoder);
    const index = await ExactIndex.open(path, header).catch(() => null);
    if (index && (await demoGalleryReady({ ...base, encoderId: header.encoderId, index }))) return index;
    await index?.close();
  }
  const loaded = await encoder;
  options.log?.(
    `Building the demo gallery: ${base.count} scenes in ${base.dir} (once; later starts reuse it)…`,
  );
  await rm(path, { force: true });
  const index = await ExactIndex.open(path, headerOf(loaded));
  await buildDemoGallery({
    ...base,
    encoder: loaded,
    index,
    gallery: stores.gallery,
    thumbnails: ThumbnailStore.beside(base.dir),
    progress: options.progress ?? silentProgress,
  });
  return index;
}
