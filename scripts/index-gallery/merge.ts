/**
 * `genir index merge <name> --shards n`: combine the n shard galleries that `genir index --shard i/n`
 * wrote (DATA_DIR/galleries/<name>.shard-<i>-of-<n>/) into the gallery <name>: asset metadata and
 * file rows always; the vectors too for exact and usearch (Pinecone shards wrote theirs into the
 * gallery's namespace already, so only their presence is checked). The gallery is built beside the
 * target and renamed into place, so a bot serving the previous merge never sees half of one.
 * Shards from another encoder, preprocessing, index kind or set of sources are refused, as are
 * missing shards and shards whose last run did not finish.
 */
import { copyFile, mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { describePreprocessing, headersMatch, parseIndexHeader } from '../../adapters/index/header.ts';
import {
  acquireLock,
  GALLERIES_DIR,
  galleryPaths,
  IndexedFiles,
  shardGalleryName,
} from '../../adapters/store/indexed-gallery.ts';
import { type GalleryAssetRecord, SqliteDatabase, SqliteGallery } from '../../adapters/store/sqlite/index.ts';
import { type IndexKind, type IndexSettings, openGalleryIndex } from '../../bots/vector-index.ts';
import type { IndexHeader, VectorIndex } from '../../core/ports.ts';

export interface MergeOptions {
  dataDir: string;
  /** The gallery the shards were indexed for (`--gallery`). */
  name: string;
  shards: number;
  /** The settings of the shards' index kind (from config). */
  settings: (kind: IndexKind) => IndexSettings;
}

export interface MergeSummary {
  gallery: string;
  dir: string;
  index: IndexKind;
  encoder: string;
  shards: { shard: string; assets: number; files: number }[];
  /** Assets of the merged gallery (content found in several shards counts once). */
  assets: number;
  vectors: number;
  seconds: number;
}

interface ShardInfo {
  label: string;
  dir: string;
  db: SqliteDatabase;
  kind: IndexKind;
  header: IndexHeader;
  sources: string;
}

const COPY_CHUNK = 1024;

export async function mergeShards(options: MergeOptions): Promise<MergeSummary> {
  const t0 = performance.now();
  const { name, shards: n } = options;
  const root = join(options.dataDir, GALLERIES_DIR);
  const target = join(root, name);
  const shards: ShardInfo[] = [];
  const release = await acquireLock(galleryPaths(target).lock);
  const building = join(root, `.${name}.merging`);
  try {
    for (let i = 1; i <= n; i++) shards.push(openShard(root, name, i, n));
    const first = shards[0] as ShardInfo;
    for (const s of shards.slice(1)) assertSameAsFirst(s, first);
    assertMergeable(target);

    await rm(building, { recursive: true, force: true });
    const db = SqliteDatabase.open(galleryPaths(building).db);
    let index: VectorIndex | null = null;
    try {
      const gallery = new SqliteGallery(db);
      const files = new IndexedFiles(db);
      const settings = options.settings(first.kind);
      // Vectors first, then metadata: what the merged gallery lists always has its vector.
      index = await openGalleryIndex(galleryPaths(building), first.header, settings, { galleryName: name });
      const perShard: MergeSummary['shards'] = [];
      const taken = new Set<string>();
      for (const s of shards) {
        const shardGallery = new SqliteGallery(s.db);
        const shardFiles = new IndexedFiles(s.db, { readonly: true });
        const assets = (await shardGallery.all()).filter((a) => !taken.has(a.id));
        await copyVectors(s, first.kind, settings, name, assets, index);
        await gallery.upsertAssets(await withDownloads(assets, s.dir, building, target));
        for (const a of assets) taken.add(a.id);
        const rows = shardFiles.all();
        files.upsert(rows);
        perShard.push({ shard: s.label, assets: assets.length, files: rows.length });
      }
      await index.flush();
      const vectors = await index.size();
      await index.close?.();
      index = null;
      files.setMeta('name', name);
      files.setMeta('index', first.kind);
      files.setMeta('encoder', first.header.encoderId);
      files.setMeta('header', JSON.stringify(first.header));
      files.setMeta('sources', first.sources);
      files.setMeta('merged', JSON.stringify({ shards: n }));
      files.setMeta('complete', 'true');
      const summary: MergeSummary = {
        gallery: name,
        dir: target,
        index: first.kind,
        encoder: first.header.encoderId,
        shards: perShard,
        assets: await gallery.count(),
        vectors,
        seconds: Math.round((performance.now() - t0) / 10) / 100,
      };
      db.close();
      await swapIn(building, target);
      return summary;
    } finally {
      await index?.close?.().catch(() => {});
      if (db.connection.open) db.close();
    }
  } finally {
    for (const s of shards) s.db.close();
    await rm(building, { recursive: true, force: true });
    await release();
    await rmdir(target).catch(() => {}); // only when empty: the lock's folder of a refused first merge
  }
}

/** Open shard i/n of `name` read-only, refusing one that is missing, foreign or unfinished. */
function openShard(root: string, name: string, i: number, n: number): ShardInfo {
  const label = `${i}/${n}`;
  const dir = join(root, shardGalleryName(name, i, n));
  const rerun = `run genir index <sources> --gallery ${name} --shard ${label} (or copy that shard's folder to ${dir})`;
  let db: SqliteDatabase;
  try {
    db = SqliteDatabase.open(galleryPaths(dir).db, { readonly: true });
  } catch {
    throw new Error(`shard ${label} of gallery "${name}" is missing (no ${galleryPaths(dir).db}): ${rerun}`);
  }
  try {
    let meta: (key: string) => string | null;
    try {
      const files = new IndexedFiles(db, { readonly: true });
      meta = (key) => files.getMeta(key);
      meta('name');
    } catch {
      throw new Error(`shard ${label} of gallery "${name}" has never finished a run: ${rerun}`);
    }
    const shard = JSON.parse(meta('shard') ?? 'null') as {
      gallery: string;
      index: number;
      count: number;
    } | null;
    if (shard?.gallery !== name || shard.index !== i || shard.count !== n) {
      throw new Error(`${dir} is not shard ${label} of gallery "${name}" (its record says ${meta('shard')})`);
    }
    if (meta('complete') !== 'true') {
      throw new Error(
        `shard ${label} of gallery "${name}" did not finish its last run (interrupted, or still running): ` +
          `run the same genir index … --shard ${label} again, then merge`,
      );
    }
    const headerJson = meta('header');
    if (headerJson === null) throw new Error(`shard ${label}: no encoder record in ${dir}; ${rerun}`);
    return {
      label,
      dir,
      db,
      kind: meta('index') as IndexKind,
      header: parseIndexHeader(JSON.parse(headerJson), `shard ${label}`),
      sources: meta('sources') ?? '[]',
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

function assertSameAsFirst(s: ShardInfo, first: ShardInfo): void {
  const both = `shard ${s.label} and shard ${first.label}`;
  if (s.kind !== first.kind) {
    throw new Error(
      `${both} were indexed into different kinds of index (${s.kind}, ${first.kind}); ` +
        'index every shard with the same VECTOR_INDEX (or --index)',
    );
  }
  if (!headersMatch(s.header, first.header)) {
    const describe = (h: IndexHeader) =>
      `"${h.encoderId}" (dim ${h.dim}; ${describePreprocessing(h.preprocessing)})`;
    throw new Error(
      `${both} were encoded differently: ${describe(s.header)} vs ${describe(first.header)}; ` +
        'index every shard with the same ENCODER_MODEL (add --reindex to the shards to redo)',
    );
  }
  if (s.sources !== first.sources) {
    throw new Error(
      `${both} were indexed from different sources (${s.sources} vs ${first.sources}); ` +
        'give every shard the same sources at the same paths',
    );
  }
}

/** The target may be replaced only when it is a previous merge (or absent). */
function assertMergeable(target: string): void {
  let db: SqliteDatabase;
  try {
    db = SqliteDatabase.open(galleryPaths(target).db, { readonly: true });
  } catch {
    return; // no gallery there yet
  }
  try {
    let merged: string | null = null;
    try {
      merged = new IndexedFiles(db, { readonly: true }).getMeta('merged');
    } catch {
      // no indexer tables: not a merge either
    }
    if (merged === null) {
      throw new Error(
        `gallery ${target} already exists and was not made by genir index merge; ` +
          'merge under another --gallery name, or remove that folder first',
      );
    }
  } finally {
    db.close();
  }
}

/** Copy a shard's vectors of `assets` into `into` (exact, usearch), or check Pinecone holds them. */
async function copyVectors(
  s: ShardInfo,
  kind: IndexKind,
  settings: IndexSettings,
  name: string,
  assets: GalleryAssetRecord[],
  into: VectorIndex,
): Promise<void> {
  const paths = galleryPaths(s.dir);
  if (kind !== 'pinecone') {
    const file = kind === 'exact' ? paths.exact : paths.usearch;
    if (!(await stat(file).catch(() => null))) {
      throw new Error(
        `shard ${s.label} has no vector file ${file}: run its genir index --shard ${s.label} again`,
      );
    }
  }
  // Pinecone: the shard's index is the gallery's namespace, which `into` already is.
  const from =
    kind === 'pinecone'
      ? into
      : await openGalleryIndex(paths, s.header, settings, { readOnly: true, galleryName: name });
  try {
    let missing = 0;
    for (let i = 0; i < assets.length; i += COPY_CHUNK) {
      const ids = assets.slice(i, i + COPY_CHUNK).map((a) => a.id);
      const vectors = await from.fetch(ids);
      missing += ids.length - vectors.size;
      if (from !== into) await into.upsert([...vectors].map(([id, vector]) => ({ id, vector })));
    }
    if (missing > 0) {
      throw new Error(
        `shard ${s.label}: ${missing} of its ${assets.length} images have no vector in ${kind === 'pinecone' ? 'the Pinecone namespace' : 'its index'}; ` +
          `run its genir index --shard ${s.label} again`,
      );
    }
  } finally {
    if (from !== into) await from.close?.();
  }
}

/** Assets shown from a shard's download copies: copy those into the merged gallery and point there. */
async function withDownloads(
  assets: GalleryAssetRecord[],
  shardDir: string,
  building: string,
  target: string,
): Promise<GalleryAssetRecord[]> {
  const prefix = join(shardDir, 'downloads') + sep;
  const out: GalleryAssetRecord[] = [];
  for (const a of assets) {
    if (!a.source.startsWith(prefix)) {
      out.push(a);
      continue;
    }
    await mkdir(join(building, 'downloads'), { recursive: true });
    await copyFile(a.source, join(building, 'downloads', basename(a.source)));
    out.push({ ...a, source: join(target, 'downloads', basename(a.source)) });
  }
  return out;
}

/** Put the built gallery where the target is (the previous merge is removed). */
async function swapIn(building: string, target: string): Promise<void> {
  const old = `${target}.replaced`;
  await rm(old, { recursive: true, force: true });
  const hadOld = await rename(target, old).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  await rename(building, target);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Terminal lines for a merge. */
export function formatMergeSummary(s: MergeSummary): string[] {
  return [
    `Gallery "${s.gallery}" (${s.index}, encoder ${s.encoder}): ${s.assets} images, ${s.vectors} vectors, merged from ${s.shards.length} shards in ${s.seconds} s.`,
    ...s.shards.map((x) => `  shard ${x.shard}: ${x.assets} images, ${x.files} files`),
  ];
}
