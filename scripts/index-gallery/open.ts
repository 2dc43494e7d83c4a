/**
 * Opening an indexed gallery's vector index (exact, usearch or Pinecone, from config) and its
 * metadata: used by `genir index` (read-write) and by the bot runtime (read-only).
 */
import { rm } from 'node:fs/promises';
import { ExactIndex } from '../../adapters/index/exact/index.ts';
import { PineconeIndex } from '../../adapters/index/pinecone/index.ts';
import { type UsearchDtype, UsearchIndex, walPath } from '../../adapters/index/usearch/index.ts';
import { SqliteDatabase, SqliteGallery } from '../../adapters/store/sqlite/index.ts';
import type { Config } from '../../bots/config.ts';
import type { IndexHeader, VectorIndex } from '../../core/ports.ts';
import { findGalleryDir, type GalleryPaths, galleryPaths, IndexedFiles } from './store.ts';

export type IndexKind = 'exact' | 'usearch' | 'pinecone';

export interface IndexSettings {
  kind: IndexKind;
  usearch?: { dtype?: UsearchDtype; exactBelow?: number; expansionSearch?: number };
  pinecone?: {
    apiKey?: string | undefined;
    indexName?: string | undefined;
    /** Default: the gallery's name. */
    namespace?: string | undefined;
    host?: string | undefined;
    controllerHostUrl?: string | undefined;
    createIfMissing?: boolean;
    cloud?: string;
    region?: string;
  };
}

export function indexSettingsFromConfig(config: Config): IndexSettings {
  return {
    kind: config.VECTOR_INDEX,
    usearch: {
      dtype: config.USEARCH_DTYPE,
      exactBelow: config.EXACT_BELOW,
      expansionSearch: config.USEARCH_EXPANSION_SEARCH,
    },
    pinecone: {
      apiKey: config.PINECONE_API_KEY,
      indexName: config.PINECONE_INDEX,
      namespace: config.PINECONE_NAMESPACE,
      host: config.PINECONE_HOST,
      controllerHostUrl: config.PINECONE_CONTROLLER_URL,
      createIfMissing: config.PINECONE_CREATE_INDEX,
      cloud: config.PINECONE_CLOUD,
      region: config.PINECONE_REGION,
    },
  };
}

/** An index with an optional close (usearch holds file handles). */
export type GalleryIndex = VectorIndex & { close?(): Promise<void> };

export interface OpenIndexOptions {
  /** The bot: no writes (usearch memory-maps its file). */
  readOnly?: boolean;
  /** Re-index: throw away every stored vector first. */
  reset?: boolean;
  /** Pinecone namespace default. */
  galleryName: string;
}

export async function openGalleryIndex(
  paths: GalleryPaths,
  header: IndexHeader,
  settings: IndexSettings,
  options: OpenIndexOptions,
): Promise<GalleryIndex> {
  switch (settings.kind) {
    case 'exact':
      if (options.reset) await rm(paths.exact, { force: true });
      return ExactIndex.open(paths.exact, header);
    case 'usearch': {
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
    }
    case 'pinecone': {
      const p = settings.pinecone ?? {};
      if (!p.apiKey) throw new Error('VECTOR_INDEX=pinecone needs PINECONE_API_KEY');
      if (!p.indexName) throw new Error('VECTOR_INDEX=pinecone needs PINECONE_INDEX');
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
    }
  }
}

export interface OpenedGallery {
  name: string;
  dir: string;
  index: GalleryIndex;
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
  let index: GalleryIndex;
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
