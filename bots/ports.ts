/**
 * The composition root: every port the engine uses, built from config — refiner (+ fallback),
 * generator, encoder, vector index and gallery, stores, round images — and closed together.
 * bots/runtime.ts and the `genir` commands build through here (or the one builder they need).
 */
import { join } from 'node:path';
import { ThumbnailStore, withThumbnails } from '../adapters/pictures/sharp/index.ts';
import type { Progress } from '../adapters/progress/index.ts';
import type { WritableGallery } from '../adapters/store/asset-file.ts';
import { FileRoundImageStore } from '../adapters/store/files.ts';
import { openPostgresStores } from '../adapters/store/postgres/index.ts';
import { openSqliteStores } from '../adapters/store/sqlite/index.ts';
import type {
  DrawingCheck,
  FeedbackRouter,
  Gallery,
  GalleryBindingStore,
  ImageGenerator,
  Logger,
  QueryRefiner,
  RateWindows,
  RoundImageStore,
  SearchedGallery,
  TenantStore,
  ThreadInbox,
  ThreadLocks,
  ThreadStore,
  TranscriptStore,
  VectorIndex,
} from '../core/ports.ts';
import { type Config, required } from './config.ts';
import { demoDir, ensureDemoGallery } from './demo-gallery.ts';
import { encoderHeader, type LoadedEncoder, loadEncoder } from './encoder.ts';
import { TenantGalleries } from './galleries.ts';
import { buildProviders } from './providers.ts';
import { buildDrawingCheck, buildRouter } from './router.ts';
import { openIndexedGallery } from './vector-index.ts';

/** Every piece of the bot's state, on one SQLite file or one PostgreSQL database (STATE_STORE). */
export interface Stores {
  threads: ThreadStore;
  transcripts: TranscriptStore;
  /** The demo gallery's asset metadata. */
  gallery: WritableGallery;
  images: RoundImageStore;
  /** Which gallery each tenant or channel searches (`genir gallery bind`). */
  bindings: GalleryBindingStore;
  /** Workspaces and servers the bot is in or has left (installations, the grace period). */
  tenants: TenantStore;
  /**
   * What several instances share on PostgreSQL: per-thread locks, the thread inboxes, the rate
   * windows. Absent on SQLite (one instance): the engine uses its in-process ones.
   */
  shared?: { locks: ThreadLocks; inbox: ThreadInbox; rates: RateWindows };
  close(): Promise<void>;
}

export const dbPath = (config: Config) => join(config.DATA_DIR, 'genir.db');

/**
 * Opens the configured store. SQLite: DATA_DIR/genir.db and round pictures as files under
 * DATA_DIR/rounds. PostgreSQL: everything in DATABASE_URL's database, pictures as bytea.
 */
export async function openStores(config: Config): Promise<Stores> {
  if (config.STATE_STORE === 'postgres') {
    const pg = await openPostgresStores(required(config, 'DATABASE_URL'), {
      maxConnections: config.DATABASE_POOL_MAX,
      statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
      leaseMs: config.THREAD_LOCK_LEASE_MS,
    });
    const { locks, inbox, rates } = pg;
    return { ...pg, shared: { locks, inbox, rates }, close: () => pg.db.close() };
  }
  const sqlite = openSqliteStores(dbPath(config));
  return { ...sqlite, images: roundImages(config), close: async () => sqlite.db.close() };
}

const roundImages = (config: Config) => new FileRoundImageStore(join(config.DATA_DIR, 'rounds'));

export interface GalleryBuild {
  /** Rebuild the demo gallery even when it is ready. */
  rebuild?: boolean;
  progress?: Progress;
  log?: (line: string) => void;
}

/**
 * GALLERY=demo: the offline demo gallery (built when missing); else a gallery made by `genir index`.
 * A ready gallery opens while the encoder is still loading (its header comes from the config file).
 */
export async function openSearchedGallery(
  config: Config,
  encoder: LoadedEncoder | Promise<LoadedEncoder>,
  stores: Stores,
  options: GalleryBuild = {},
): Promise<OpenGallery & { dir: string }> {
  const header = await encoderHeader(config);
  if (config.GALLERY === 'demo') {
    const index = await ensureDemoGallery(config, encoder, stores, { ...options, header });
    return { name: 'demo', index, gallery: stores.gallery, dir: demoDir(config), close: () => index.close() };
  }
  return openIndexedGallery(config, header);
}

export interface OpenGallery extends SearchedGallery {
  close(): Promise<void>;
}

export interface Ports {
  refiner: QueryRefiner;
  fallbackRefiner?: QueryRefiner;
  generator: ImageGenerator;
  /** ROUTER: which rounds are drawn. */
  router: FeedbackRouter;
  drawingCheck?: DrawingCheck;
  encoder: LoadedEncoder;
  /** The local tenant's gallery (GALLERY): the web playground's and the terminal's. */
  index: VectorIndex;
  gallery: Gallery;
  /** Every tenant's gallery, by its binding (`genir gallery bind`). */
  galleries: TenantGalleries;
  stores: Stores;
  images: RoundImageStore;
  /** Closes every port (each one's optional close), then the stores. */
  close(): Promise<void>;
}

export async function buildPorts(config: Config, logger: Logger, options: GalleryBuild = {}): Promise<Ports> {
  const router = buildRouter(config);
  const drawingCheck = buildDrawingCheck(config);
  const stores = await openStores(config);
  const providers = await buildProviders(config, logger);
  const closing: (() => Promise<void>)[] = [() => providers.close()];
  // Last opened, first closed; a step that fails does not keep the others open.
  const close = async () => {
    const errors: unknown[] = [];
    for (const step of [...closing].reverse()) await step().catch((err: unknown) => errors.push(err));
    await stores.close().catch((err: unknown) => errors.push(err));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'closing the ports failed');
  };
  // Start-up in parallel: the encoder loads in its worker thread while the gallery opens.
  const encoding = loadEncoder(config, { text: true });
  // Closed once loaded; a failure to load is thrown by the `await encoding` below.
  const closeEncoder = encoding.then(
    (encoder) => () => encoder.close(),
    () => async () => {},
  );
  closing.push(async () => (await closeEncoder)());
  try {
    // Contact sheets are composed from thumbnails kept beside each gallery (made on first use).
    const withTiles = (opened: OpenGallery & { dir: string }): OpenGallery => ({
      ...opened,
      gallery: withThumbnails(
        opened.gallery,
        ThumbnailStore.beside(opened.dir, {
          onWriteError: (err, path) => logger.warn({ err, path }, 'thumbnail not saved'),
        }),
      ),
    });
    const searched = withTiles(await openSearchedGallery(config, encoding, stores, options));
    closing.push(() => searched.close());
    const galleries = new TenantGalleries(stores.bindings, searched, async (name) =>
      withTiles(await openSearchedGallery({ ...config, GALLERY: name }, encoding, stores, options)),
    );
    closing.push(() => galleries.close());
    const encoder = await encoding;
    return {
      refiner: providers.refiner,
      ...(providers.fallbackRefiner ? { fallbackRefiner: providers.fallbackRefiner } : {}),
      generator: providers.generator,
      router,
      ...(drawingCheck ? { drawingCheck } : {}),
      encoder,
      index: searched.index,
      gallery: searched.gallery,
      galleries,
      stores,
      images: stores.images,
      close,
    };
  } catch (err) {
    await close().catch((closeErr: unknown) =>
      logger.error({ err: closeErr }, 'closing after a failed start'),
    );
    throw err;
  }
}
