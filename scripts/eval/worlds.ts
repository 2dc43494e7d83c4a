/**
 * The worlds `genir eval` runs in: the offline scene world (a demo gallery sampled from the scene
 * grammar, scene-aware simulated users) and a real indexed gallery (VLM users).
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OnnxImageEncoder } from '../../adapters/encode/onnx/encoder.ts';
import { SketchGenerator } from '../../adapters/generate/sketch/index.ts';
import type { Progress } from '../../adapters/progress/index.ts';
import { imageCost, type PriceTable, priceTable } from '../../adapters/providers/prices.ts';
import { RuleRefiner } from '../../adapters/refine/rules/index.ts';
import type { Scene } from '../../adapters/scene/index.ts';
import { openSqliteStores } from '../../adapters/store/sqlite/index.ts';
import type { Config } from '../../bots/config.ts';
import { demoDir, ensureDemoGallery, readDemoManifest } from '../../bots/demo-gallery.ts';
import { headerOf, loadEncoder } from '../../bots/encoder.ts';
import { dbPath } from '../../bots/ports.ts';
import { buildProviders } from '../../bots/providers.ts';
import { openIndexedGallery } from '../../bots/vector-index.ts';
import { createRng, shuffle } from '../../core/random.ts';
import { DatasetImages, resolveTargets } from '../dataset/ids.ts';
import { CachedGenerator, CachedRefiner, CallCache } from './call-cache.ts';
import { generatorModel } from './costs.ts';
import type { EvalWorld } from './run.ts';
import { BlindUser, SceneUser } from './users.ts';
import { VlmClient, type VlmOptions, VlmUser } from './vlm-user.ts';

export interface OpenedWorld extends EvalWorld {
  close(): Promise<void>;
}

export interface SceneWorldOptions {
  config: Config;
  /** Gallery size; the gallery lives in `dataDir` (default data/eval-<size>) and is reused. */
  size: number;
  gallerySeed: number;
  /** How many targets to sample from the gallery (seeded by `seed`). */
  targets: number;
  seed: number;
  dataDir?: string;
  encoder?: OnnxImageEncoder;
  /** Play both users with a vision model instead of the scene-aware ones. */
  vlm?: VlmOptions;
  progress?: Progress;
  log?: (line: string) => void;
}

/** The targets of a run: `count` gallery ids in a seeded random order. */
export function sampleTargets(ids: readonly string[], count: number, seed: number): string[] {
  if (count > ids.length)
    throw new Error(`asked for ${count} targets but the gallery has ${ids.length} images`);
  return shuffle(createRng(seed), ids).slice(0, count);
}

/** Builds (once) or reuses a demo gallery of `size` scenes and opens the scene world on it. */
export async function openSceneWorld(options: SceneWorldOptions): Promise<OpenedWorld> {
  const dataDir = options.dataDir ?? join('data', `eval-${options.size}`);
  const config: Config = {
    ...options.config,
    DATA_DIR: dataDir,
    DEMO_GALLERY_SIZE: options.size,
    DEMO_GALLERY_SEED: options.gallerySeed,
  };
  const encoder = options.encoder ?? (await loadEncoder(config));
  const stores = openSqliteStores(dbPath(config));
  try {
    const index = await ensureDemoGallery(config, encoder, stores, {
      ...(options.progress ? { progress: options.progress } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    const manifest = await readDemoManifest(demoDir(config));
    if (!manifest) throw new Error(`the demo gallery in ${demoDir(config)} has no manifest`);
    const scenes = new Map<string, Scene>(manifest.scenes.map((e) => [e.id, e.scene]));
    const targets = sampleTargets(
      manifest.scenes.map((e) => e.id),
      options.targets,
      options.seed,
    );
    const vlm = options.vlm ? new VlmClient(options.vlm) : null;
    return {
      description: {
        world: 'ideal (closed loop: the user reads captions and speaks the parser grammar)',
        size: options.size,
        gallerySeed: options.gallerySeed,
        user: vlm ? `vlm:${vlm.options.model}` : 'scene',
      },
      index,
      gallery: stores.gallery,
      refiner: new RuleRefiner(),
      generator: new SketchGenerator(),
      encoder,
      targets,
      async makeUser(targetId, condition, seed) {
        const scene = scenes.get(targetId);
        if (!scene) throw new Error(`target ${targetId} is not in the gallery manifest`);
        if (vlm)
          return new VlmUser(vlm, await targetPng(stores.gallery, targetId), {
            blind: condition.channel !== 'image',
          });
        if (condition.channel === 'matches')
          throw new Error('the ideal world has no prediction user; use the default (perceiving) world');
        // Closed loop: the "visual" user reads the drawing's caption, the text user is the old blind one.
        return condition.channel === 'image'
          ? new SceneUser(scene, { seed, sceneOf: (id) => scenes.get(id) })
          : new BlindUser(scene, { seed });
      },
      async close() {
        await index.flush();
        stores.db.close();
      },
    };
  } catch (err) {
    stores.db.close();
    throw err;
  }
}

export async function targetPng(gallery: EvalWorld['gallery'], id: string): Promise<Buffer> {
  const asset = await gallery.get(id);
  const png = asset ? await gallery.read(asset) : null;
  if (!png) throw new Error(`cannot read the image of target ${id}`);
  return png;
}

export interface GalleryWorldOptions {
  config: Config;
  /** The indexed gallery: its name or the folder / list file given to `genir index` (GALLERY). */
  gallery: string;
  /**
   * A file of targets, one a line (# starts a comment): dataset ids of a gallery made by
   * `genir dataset import`, or asset ids; or a number N: N images sampled with `seed`.
   */
  targets: string;
  seed: number;
  vlm: VlmOptions;
  encoder?: OnnxImageEncoder;
  /** Cache every paid call (generator, refiner, VLM) in this folder and stop at `maxCostUsd`. */
  paid?: { cacheDir: string; maxCostUsd?: number };
}

export interface OpenedGalleryWorld extends OpenedWorld {
  /** Dataset id of each target (null: the gallery was not imported as a dataset). */
  datasetIds: Map<string, string | null>;
  /** The gallery's dataset_meta (kind, annotation file…), {} for a plain gallery. */
  datasetMeta: Record<string, unknown>;
  cache: CallCache | null;
  vlm: VlmClient;
  prices: PriceTable;
}

/** Pinecone returns at most 10,000 matches a query: the target's rank in the whole gallery is out of reach. */
export function refuseUnrankableIndex(config: Config): void {
  if (config.VECTOR_INDEX === 'pinecone')
    throw new Error(
      'the eval ranks the target among all gallery images every round, and Pinecone returns at most ' +
        '10,000 matches per query, so it cannot. Index the gallery with VECTOR_INDEX=exact (exact ranks) or ' +
        'VECTOR_INDEX=usearch (approximate ranks; its recall is measured in docs/indexing.md).',
    );
}

async function readTargetNames(file: string): Promise<string[]> {
  if (!(await exists(file))) throw new Error(`no targets file at ${file} (give a file of ids or a number)`);
  return (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/**
 * A gallery indexed by `genir index` or `genir dataset import` (its index kind from VECTOR_INDEX)
 * with VLM users. The bot is the configured one: REFINER, GENERATOR and ENCODER_MODEL, as
 * `npm start` builds them, with every paid call cached when `paid` is given.
 */
export async function openGalleryWorld(options: GalleryWorldOptions): Promise<OpenedGalleryWorld> {
  const config: Config = { ...options.config, GALLERY: options.gallery };
  refuseUnrankableIndex(config);
  const encoder = options.encoder ?? (await loadEncoder(config));
  const opened = await openIndexedGallery(config, headerOf(encoder));
  let providers: Awaited<ReturnType<typeof buildProviders>> | null = null;
  try {
    const dataset = new DatasetImages(opened.db);
    const images = dataset.all();
    let picked: { assetId: string; datasetId: string | null }[];
    if (/^\d+$/.test(options.targets)) {
      const n = Number(options.targets);
      const pool =
        images.length > 0
          ? images
          : (await opened.gallery.all()).map((a) => ({ assetId: a.id, datasetId: null }));
      const byAsset = new Map(pool.map((p) => [p.assetId, p]));
      picked = sampleTargets([...byAsset.keys()], n, options.seed).map(
        (id) => byAsset.get(id) as (typeof pool)[number],
      );
    } else {
      const { targets, missing } = resolveTargets(await readTargetNames(options.targets), images);
      if (missing.length > 0)
        throw new Error(
          `${missing.length} target(s) of ${options.targets} are not in gallery ${opened.name}, e.g. ${missing.slice(0, 3).join(', ')}` +
            (images.length === 0
              ? ' (it was not imported with genir dataset import: name targets by asset id)'
              : ''),
        );
      picked = targets;
    }
    const datasetIds = new Map<string, string | null>();
    for (const t of picked) if (!datasetIds.has(t.assetId)) datasetIds.set(t.assetId, t.datasetId);
    const wanted = [...datasetIds.keys()];
    const vectors = await opened.index.fetch(wanted);
    const missing: string[] = [];
    for (const id of wanted) if (!(await opened.gallery.get(id)) || !vectors.has(id)) missing.push(id);
    if (missing.length > 0) {
      throw new Error(
        `${missing.length} target(s) are not in gallery ${opened.name}, e.g. ${missing.slice(0, 3).join(', ')}`,
      );
    }
    const prices = priceTable(config.MODEL_PRICES);
    const cache = options.paid ? await CallCache.open(options.paid.cacheDir, options.paid.maxCostUsd) : null;
    const vlm = new VlmClient(options.vlm, cache ? { cache, prices } : undefined);
    providers = await buildProviders(config, { info() {}, warn() {}, error() {} });
    const generator = cache
      ? new CachedGenerator(
          providers.generator,
          cache,
          imageCost(prices, generatorModel(providers.generator.id)) ?? 0,
        )
      : providers.generator;
    const refiner = cache ? new CachedRefiner(providers.refiner, cache) : providers.refiner;
    const built = providers;
    return {
      description: {
        world: 'gallery',
        gallery: opened.name,
        index: config.VECTOR_INDEX,
        user: `vlm:${vlm.options.model}`,
        ...(images.length > 0 ? { datasetTargets: wanted.map((id) => datasetIds.get(id) ?? null) } : {}),
      },
      index: opened.index,
      gallery: opened.gallery,
      refiner,
      ...(providers.fallbackRefiner ? { fallbackRefiner: providers.fallbackRefiner } : {}),
      generator,
      encoder,
      targets: wanted,
      datasetIds,
      datasetMeta: dataset.meta(),
      cache,
      vlm,
      prices,
      async makeUser(targetId, condition) {
        return new VlmUser(vlm, await targetPng(opened.gallery, targetId), {
          blind: condition.channel !== 'image',
        });
      },
      async close() {
        await built.close();
        await opened.close();
      },
    };
  } catch (err) {
    await providers?.close();
    await opened.close();
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
