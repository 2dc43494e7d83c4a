/**
 * The worlds `genir eval` runs in: the offline scene world (a demo gallery sampled from the scene
 * grammar, scene-aware simulated users) and a real indexed gallery (VLM users).
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OnnxImageEncoder } from '../../adapters/encode/onnx/encoder.ts';
import { SketchGenerator } from '../../adapters/generate/sketch/index.ts';
import type { Progress } from '../../adapters/progress/index.ts';
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
  /** A file of target asset ids, one per line; # starts a comment. */
  targetsFile: string;
  /** Use only the first N targets of the file. */
  limit?: number;
  vlm: VlmOptions;
  encoder?: OnnxImageEncoder;
}

/**
 * A gallery indexed by `genir index` (its index kind from VECTOR_INDEX) with VLM users. The bot is
 * the configured one: REFINER, GENERATOR and ENCODER_MODEL, as `npm start` builds them.
 */
export async function openGalleryWorld(options: GalleryWorldOptions): Promise<OpenedWorld> {
  const config: Config = { ...options.config, GALLERY: options.gallery };
  const encoder = options.encoder ?? (await loadEncoder(config));
  const opened = await openIndexedGallery(config, headerOf(encoder));
  try {
    if (!(await exists(options.targetsFile))) throw new Error(`no targets file at ${options.targetsFile}`);
    const wanted = (await readFile(options.targetsFile, 'utf8'))
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)
      .slice(0, options.limit ?? Number.POSITIVE_INFINITY);
    const vectors = await opened.index.fetch(wanted);
    const missing: string[] = [];
    for (const id of wanted) if (!(await opened.gallery.get(id)) || !vectors.has(id)) missing.push(id);
    if (missing.length > 0) {
      throw new Error(
        `${missing.length} target(s) are not in gallery ${opened.name}, e.g. ${missing.slice(0, 3).join(', ')}`,
      );
    }
    const vlm = new VlmClient(options.vlm);
    const providers = await buildProviders(config, { info() {}, warn() {}, error() {} });
    return {
      description: {
        world: 'gallery',
        gallery: opened.name,
        index: config.VECTOR_INDEX,
        user: `vlm:${vlm.options.model}`,
      },
      index: opened.index,
      gallery: opened.gallery,
      refiner: providers.refiner,
      ...(providers.fallbackRefiner ? { fallbackRefiner: providers.fallbackRefiner } : {}),
      generator: providers.generator,
      encoder,
      targets: wanted,
      async makeUser(targetId, condition) {
        return new VlmUser(vlm, await targetPng(opened.gallery, targetId), {
          blind: condition.channel !== 'image',
        });
      },
      async close() {
        await providers.close();
        await opened.close();
      },
    };
  } catch (err) {
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
