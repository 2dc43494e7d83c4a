/**
 * The vector index of an indexed gallery (exact, usearch or Pinecone, from config) and opening
 * such a gallery with its metadata: `genir index` writes through it, the bot reads. Adding a
 * vector index: a folder under adapters/index/, an entry in INDEX_KINDS and its name in VECTOR_INDEX.
 */
import { rm } from 'node:fs/promises';
import type { UsearchDtype } from '../adapters/index/usearch/index.ts';
import {
  findGalleryDir,
  type GalleryPaths,
  galleryPaths,
  IndexedFiles,
} from '../adapters/store/indexed-gallery.ts';
import { SqliteDatabase, SqliteGallery } from '../adapters/store/sqlite/index.ts';
import type { IndexHeader, VectorIndex } from '../core/ports.ts';
import { type Config, required } from './config.ts';

export type IndexKind = Config['VECTOR_INDEX'];

export interface PineconeSettings {
  apiKey: string;
  indexName: string;
  /** Default: the gallery's name. */
  namespace?: string | undefined;
  host?: string | undefined;
  controllerHostUrl?: string | undefined;
  createIfMissing?: boolean;
  cloud?: string;
  region?: string;
}

export type IndexSettings =
  | { kind: 'exact' }
  | { kind: 'usearch'; usearch?: { dtype?: UsearchDtype; exactBelow?: number; expansionSearch?: number } }
  | { kind: 'pinecone'; pinecone: PineconeSettings };

export interface OpenIndexOptions {
  /** The bot: no writes (usearch memory-maps its file). */
  readOnly?: boolean;
  /** Re-index: throw away every stored vector first. */
  reset?: boolean;
  /** Pinecone namespace default. */
  galleryName: string;
}

type SettingsOf<K extends IndexKind> = Extract<IndexSettings, { kind: K }>;

/** One kind of vector index: its settings from config, and how a gallery's index of it opens. */
interface IndexKindSpec<K extends IndexKind> {
  settings(config: Config): SettingsOf<K>;
  open(
    paths: GalleryPaths,
    header: IndexHeader,
    settings: SettingsOf<K>,
    options: OpenIndexOptions,
  ): Promise<VectorIndex>;
}

/**
 * Every vector index kind (VECTOR_INDEX); adding one: a folder under adapters/index/ and an entry
 * here. Each kind loads its adapter (and SDK) only when opened.
 */
const INDEX_KINDS: { [K in IndexKind]: IndexKindSpec<K> } = {
  exact: {
    settings: () => ({ kind: 'exact' }),
    async open(paths, header, _settings, options) {
      if (options.reset) await rm(paths.exact, { force: true });
      const { ExactIndex } = await import('../adapters/index/exact/index.ts');
      return ExactIndex.open(paths.exact, header);
    },
  },
  usearch: {
    settings: (config) => ({
      kind: 'usearch',
      usearch: {
        dtype: config.USEARCH_DTYPE,
        exactBelow: config.EXACT_BELOW,
        expansionSearch: config.USEARCH_EXPANSION_SEARCH,
      },
    }),
    async open(paths, header, settings, options) {
      const { UsearchIndex, walPath } = await import('../adapters/index/usearch/index.ts');
      if (options.reset) {
        await rm(paths.usearch, { force: true });
        await rm(walPath(paths.usearch), { force: true });
      }
      const u = settings.usearch ?? {};
      return UsearchIndex.open(paths.usearch, header, {
        readOnly: options.readOnly ?? false,
        ...(u.dtype ? { dtype: u.dtype } : {}),
        ...(u.exactBelow !== undefined ? { exactBelow: u.exactBelow } : {}),
        ...(u.expansionSearch !== undefined ? { expansionSearch: u.expansionSearch } : {}),
      });
    },
  },
  pinecone: {
    settings: (config) => ({
      kind: 'pinecone',
      pinecone: {
        apiKey: required(config, 'PINECONE_API_KEY'),
        indexName: required(config, 'PINECONE_INDEX'),
        namespace: config.PINECONE_NAMESPACE,
        host: config.PINECONE_HOST,
        controllerHostUrl: config.PINECONE_CONTROLLER_URL,
        createIfMissing: config.PINECONE_CREATE_INDEX,
        cloud: config.PINECONE_CLOUD,
        region: config.PINECONE_REGION,
      },
    }),
    async open(_paths, header, { pinecone: p }, options) {
      const { PineconeIndex } = await import('../adapters/index/pinecone/index.ts');
      return PineconeIndex.open(header, {
        apiKey: p.apiKey,
        indexName: p.indexName,
        namespace: p.namespace ?? options.galleryName,
        ...(p.host ? { host: p.host } : {}),
        ...(p.controllerHostUrl ? { controllerHostUrl: p.controllerHostUrl } : {}),
        createIfMissing: (p.createIfMissing ?? false) && !options.readOnly,
        ...(p.cloud ? { cloud: p.cloud } : {}),
        ...(p.region ? { region: p.region } : {}),
        reset: options.reset ?? false,
      });
    },
  },
};

export function indexSettingsFromConfig(config: Config): IndexSettings {
  return INDEX_KINDS[config.VECTOR_INDEX].settings(config);
}

export function openGalleryIndex(
  paths: GalleryPaths,
  header: IndexHeader,
  settings: IndexSettings,
  options: OpenIndexOptions,
): Promise<VectorIndex> {
  // The entry for settings.kind takes that kind's settings; TypeScript cannot follow the correlation.
  const spec = INDEX_KINDS[settings.kind] as IndexKindSpec<IndexKind>;
  return spec.open(paths, header, settings as never, options);
}

export interface OpenedGallery {
  name: string;
  dir: string;
  index: VectorIndex;
  gallery: SqliteGallery;
  db: SqliteDatabase;
  close(): Promise<void>;
}

/**
 * Open the gallery `config.GALLERY` (not "demo") for searching: its metadata database and its
 * index, read-only. Throws a clear error when it has not been indexed yet or was indexed with
 * another encoder (IndexMismatchError).
 */
export async function openIndexedGallery(
  config: Config,
  header: IndexHeader,
  options: { cwd?: string } = {},
): Promise<OpenedGallery> {
  const dir = await findGalleryDir(config.DATA_DIR, config.GALLERY, options.cwd);
  const paths = galleryPaths(dir);
  let db: SqliteDatabase;
  try {
    db = SqliteDatabase.open(paths.db, { readonly: true });
  } catch {
    throw new Error(
      `GALLERY=${config.GALLERY} has not been indexed yet (no ${paths.db}); run: genir index ${config.GALLERY}`,
    );
  }
  let name = dir.split(/[\\/]/).pop() ?? 'gallery';
  let builtWith: string | null = null;
  try {
    const files = new IndexedFiles(db, { readonly: true });
    name = files.getMeta('name') ?? name;
    builtWith = files.getMeta('index');
  } catch {
    // No indexer tables: not a complete genir index run yet.
  }
  if (builtWith && builtWith !== config.VECTOR_INDEX) {
    db.close();
    throw new Error(
      `gallery ${name} was indexed with VECTOR_INDEX=${builtWith}; set VECTOR_INDEX=${builtWith} or run genir index again`,
    );
  }
  let index: VectorIndex;
  try {
    index = await openGalleryIndex(paths, header, indexSettingsFromConfig(config), {
      readOnly: true,
      galleryName: name,
    });
  } catch (err) {
    db.close();
    throw err;
  }
  const gallery = new SqliteGallery(db);
  return {
    name,
    dir,
    index,
    gallery,
    db,
    async close() {
      await index.close?.();
      db.close();
    },
  };
}
