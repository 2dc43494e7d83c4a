import { SqliteDatabase, type SqliteOpenOptions } from './database.ts';
import { SqliteGallery, type SqliteGalleryOptions } from './gallery.ts';
import { SqliteGalleryBindingStore } from './gallery-bindings.ts';
import { SqliteTenantStore } from './tenants.ts';
import { SqliteThreadStore } from './threads.ts';
import { SqliteTranscriptStore } from './transcripts.ts';

export { SqliteDatabase, type SqliteOpenOptions } from './database.ts';
export { type GalleryAssetRecord, SqliteGallery, type SqliteGalleryOptions } from './gallery.ts';
export { SqliteGalleryBindingStore } from './gallery-bindings.ts';
export { SqliteTenantStore } from './tenants.ts';
export { type SqliteStoreOptions, SqliteThreadStore } from './threads.ts';
export { SqliteTranscriptStore } from './transcripts.ts';

export interface SqliteStores {
  db: SqliteDatabase;
  threads: SqliteThreadStore;
  transcripts: SqliteTranscriptStore;
  gallery: SqliteGallery;
  bindings: SqliteGalleryBindingStore;
  tenants: SqliteTenantStore;
}

/** Open (creating and migrating) one SQLite file and the stores on it. Close with `db.close()`. */
export function openSqliteStores(
  path: string,
  options: SqliteOpenOptions & SqliteGalleryOptions = {},
): SqliteStores {
  const db = SqliteDatabase.open(path, options);
  const now = options.now ? { now: options.now } : {};
  return {
    db,
    threads: new SqliteThreadStore(db, now),
    transcripts: new SqliteTranscriptStore(db),
    gallery: new SqliteGallery(db, { ...now, ...(options.root ? { root: options.root } : {}) }),
    bindings: new SqliteGalleryBindingStore(db, options.now),
    tenants: new SqliteTenantStore(db, options.now),
  };
}
