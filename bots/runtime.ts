import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import type { LoadedEncoder } from '../adapters/encode/onnx/clip.ts';
import { OnnxImageEncoder } from '../adapters/encode/onnx/encoder.ts';
import { ExactIndex } from '../adapters/index/exact/exact-index.ts';
import { sharpPictures } from '../adapters/pictures/sharp/index.ts';
import { FileRoundImageStore } from '../adapters/store/files.ts';
import { openSqliteStores } from '../adapters/store/sqlite/index.ts';
import { commandSet } from '../commands/index.ts';
import { ConversationEngine, type EngineOptions } from '../core/engine.ts';
import type { Gallery, ImageEncoder, IndexHeader, Logger, VectorIndex } from '../core/ports.ts';
import { buildDemoGallery, demoGalleryReady } from '../scripts/demo-gallery.ts';
import { exportTranscripts } from '../scripts/export.ts';
import { openIndexedGallery } from '../scripts/index-gallery/open.ts';
import { type Progress, silentProgress } from '../scripts/progress.ts';
import type { Config } from './config.ts';
import { buildProviders, loadQueryEncoder } from './providers.ts';
import { redactingLogOptions } from './redact.ts';

export type Stores = ReturnType<typeof openSqliteStores>;

export interface Runtime {
  config: Config;
  logger: pino.Logger;
  engine: ConversationEngine;
  stores: Stores;
  encoder: LoadedEncoder;
  /** The gallery searched: the demo gallery, or GALLERY indexed with `genir index`. */
  gallery: Gallery;
  index: VectorIndex;
  images: FileRoundImageStore;
  close(): Promise<void>;
}

export function createLogger(config: Config, destination: 'stdout' | 'stderr' = 'stderr'): pino.Logger {
  return pino(
    { level: config.LOG_LEVEL, ...redactingLogOptions },
    pino.destination(destination === 'stderr' ? 2 : 1),
  );
}

export const dbPath = (config: Config) => join(config.DATA_DIR, 'genir.db');
export const demoDir = (config: Config) => join(config.DATA_DIR, 'demo-gallery');
export const demoIndexPath = (config: Config) => join(config.DATA_DIR, 'index', 'demo.exact');

export const roundImages = (config: Config) => new FileRoundImageStore(join(config.DATA_DIR, 'rounds'));

const DAY_MS = 24 * 60 * 60 * 1000;

/** TRANSCRIPT_RETENTION_DAYS: purge older transcript records now and then daily. */
function startRetention(config: Config, stores: Stores, logger: pino.Logger): NodeJS.Timeout | undefined {
  const days = config.TRANSCRIPT_RETENTION_DAYS;
  if (days <= 0) return undefined;
  const purge = async () => {
    const removed = await stores.transcripts.purgeBefore(Date.now() - days * DAY_MS);
    logger.info({ removed, days }, 'transcript retention purge');
  };
  void purge();
  return setInterval(() => void purge(), DAY_MS).unref();
}

export async function loadEncoder(config: Config): Promise<OnnxImageEncoder> {
  return OnnxImageEncoder.load({
    modelPath: config.ENCODER_MODEL,
    ...(config.ENCODER_CONFIG ? { configPath: config.ENCODER_CONFIG } : {}),
    ...(config.ENCODER_THREADS ? { intraOpThreads: config.ENCODER_THREADS } : {}),
    ...(config.ENCODER_WORKERS ? { workers: config.ENCODER_WORKERS } : {}),
  });
}

export const headerOf = (encoder: ImageEncoder): IndexHeader => ({
  encoderId: encoder.id,
  dim: encoder.dim,
  preprocessing: encoder.preprocessing,
});

/** Opens the demo gallery's index, building the gallery first when it is missing or stale. */
export async function ensureDemoGallery(
  config: Config,
  encoder: ImageEncoder,
  stores: Stores,
  options: { rebuild?: boolean; progress?: Progress; log?: (line: string) => void } = {},
): Promise<ExactIndex> {
  const base = {
    dir: demoDir(config),
    count: config.DEMO_GALLERY_SIZE,
    seed: config.DEMO_GALLERY_SEED,
    encoder,
  };
  const path = demoIndexPath(config);
  if (!options.rebuild) {
    const index = await ExactIndex.open(path, headerOf(encoder)).catch(() => null);
    if (index && (await demoGalleryReady({ ...base, index }))) return index;
  }
  options.log?.(
    `Building the demo gallery: ${base.count} scenes in ${base.dir} (once; later starts reuse it)…`,
  );
  await rm(path, { force: true });
  const index = await ExactIndex.open(path, headerOf(encoder));
  await buildDemoGallery({
    ...base,
    index,
    gallery: stores.gallery,
    progress: options.progress ?? silentProgress,
  });
  return index;
}

/** GALLERY=demo: the offline demo gallery (built when missing); else a gallery made by `genir index`. */
async function openSearchedGallery(
  config: Config,
  encoder: ImageEncoder,
  stores: Stores,
  options: { rebuild?: boolean; progress?: Progress; log?: (line: string) => void },
): Promise<{ index: VectorIndex; gallery: Gallery; close(): Promise<void> }> {
  if (config.GALLERY === 'demo') {
    const index = await ensureDemoGallery(config, encoder, stores, options);
    return { index, gallery: stores.gallery, close: () => index.flush() };
  }
  return openIndexedGallery(config, headerOf(encoder));
}

export async function buildRuntime(
  config: Config,
  options: {
    logger?: pino.Logger;
    progress?: Progress;
    log?: (line: string) => void;
    rebuild?: boolean;
    engineOptions?: Partial<EngineOptions>;
  } = {},
): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config);
  const providers = buildProviders(config, logger as Logger); // config errors before any slow work
  const stores = openSqliteStores(dbPath(config));
  const encoder = await loadQueryEncoder(config);
  const searched = await openSearchedGallery(config, encoder, stores, options);
  const { index, gallery } = searched;
  const images = roundImages(config);
  const admins = new Set(config.ADMIN_USER_IDS);
  const engine = new ConversationEngine(
    {
      refiner: providers.refiner,
      ...(providers.fallbackRefiner ? { fallbackRefiner: providers.fallbackRefiner } : {}),
      generator: providers.generator,
      encoder,
      index,
      gallery,
      images,
      threads: stores.threads,
      transcripts: stores.transcripts,
      commands: commandSet,
      pictures: sharpPictures,
      logger: logger as Logger,
    },
    {
      topK: config.TOP_K,
      ranking: {
        textWeight: config.TEXT_WEIGHT,
        positiveWeight: config.FEEDBACK_POSITIVE_WEIGHT,
        negativeWeight: config.FEEDBACK_NEGATIVE_WEIGHT,
        seenExclusion: config.SEEN_EXCLUSION,
      },
      maxMessageChars: config.MAX_MESSAGE_CHARS,
      refineTimeoutMs: config.REFINE_TIMEOUT_MS,
      generateTimeoutMs: config.GENERATE_TIMEOUT_MS,
      hashUser: (id) =>
        createHash('sha256').update(`${config.USER_HASH_SALT}:${id}`).digest('hex').slice(0, 24),
      roundsPerUserPerMinute: config.ROUNDS_PER_USER_PER_MINUTE,
      roundsPerWorkspacePerMinute: config.ROUNDS_PER_WORKSPACE_PER_MINUTE,
      transcripts: config.TRANSCRIPTS,
      isAdmin: (userId) => admins.has(userId),
      admin: {
        status: async () =>
          `Gallery ${config.GALLERY}: ${await gallery.count()} assets; index: ${await index.size()} vectors (${encoder.id}, ${encoder.dim} dims); transcripts: ${config.TRANSCRIPTS}, ${(await stores.transcripts.list()).length} records.`,
        export: async () => {
          const out = join(config.DATA_DIR, 'exports', new Date().toISOString().replace(/[:.]/g, '-'));
          const { dialogues, rounds } = await exportTranscripts({
            out,
            transcripts: stores.transcripts,
            images,
            salt: config.USER_HASH_SALT,
          });
          return `Exported ${dialogues} dialogues (${rounds} rounds) to ${out} on the server.`;
        },
      },
      ...options.engineOptions,
    },
  );
  const retention = startRetention(config, stores, logger);
  return {
    config,
    logger,
    engine,
    stores,
    encoder,
    gallery,
    index,
    images,
    async close() {
      clearInterval(retention);
      await engine.idle();
      await providers.close();
      await searched.close();
      stores.db.close();
    },
  };
}
