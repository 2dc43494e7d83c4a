import { PostgresDatabase, type PostgresOptions } from './database.ts';
import { PostgresGallery } from './gallery.ts';
import { PostgresGalleryBindingStore } from './gallery-bindings.ts';
import { PostgresRoundImageStore } from './images.ts';
import { PostgresInbox } from './inbox.ts';
import { type PostgresLockOptions, PostgresThreadLocks } from './locks.ts';
import { PostgresRateWindows } from './rates.ts';
import { PostgresTenantStore } from './tenants.ts';
import { type PostgresStoreOptions, PostgresThreadStore } from './threads.ts';
import { PostgresTranscriptStore } from './transcripts.ts';

export {
  DatabaseUnavailableError,
  PostgresDatabase,
  type PostgresOptions,
  redactUrl,
} from './database.ts';
export { PostgresGallery } from './gallery.ts';
export { PostgresGalleryBindingStore } from './gallery-bindings.ts';
export { PostgresRoundImageStore } from './images.ts';
export { PostgresInbox } from './inbox.ts';
export { type PostgresLockOptions, PostgresThreadLocks } from './locks.ts';
export { PostgresRateWindows } from './rates.ts';
export { PostgresTenantStore } from './tenants.ts';
export { type PostgresStoreOptions, PostgresThreadStore } from './threads.ts';
export { PostgresTranscriptStore } from './transcripts.ts';

export interface PostgresStores {
  db: PostgresDatabase;
  threads: PostgresThreadStore;
  transcripts: PostgresTranscriptStore;
  gallery: PostgresGallery;
  images: PostgresRoundImageStore;
  rates: PostgresRateWindows;
  locks: PostgresThreadLocks;
  inbox: PostgresInbox;
  bindings: PostgresGalleryBindingStore;
  tenants: PostgresTenantStore;
}

/** Connect to DATABASE_URL, migrate, and build every store on the one pool. Close with `db.close()`. */
export async function openPostgresStores(
  url: string,
  options: PostgresOptions & PostgresStoreOptions & PostgresLockOptions & { root?: string } = {},
): Promise<PostgresStores> {
  const db = await PostgresDatabase.open(url, options);
  const now = options.now ? { now: options.now } : {};
  return {
    db,
    threads: new PostgresThreadStore(db, now),
    transcripts: new PostgresTranscriptStore(db),
    gallery: new PostgresGallery(db, { ...now, ...(options.root ? { root: options.root } : {}) }),
    images: new PostgresRoundImageStore(db),
    rates: new PostgresRateWindows(db, now),
    locks: new PostgresThreadLocks(db, options),
    inbox: new PostgresInbox(db, now),
    bindings: new PostgresGalleryBindingStore(db, options.now),
    tenants: new PostgresTenantStore(db, options.now),
  };
}
