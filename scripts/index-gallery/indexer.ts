/**
 * `genir index`: turn a folder / list of images into a searchable gallery.
 *
 * Pipeline, per batch of candidates (double-buffered: batch i+1 is read, hashed, decoded and
 * preprocessed while batch i is encoded and committed):
 *   read (file or download) → sha256 → skip / duplicate / decode+preprocess into the batch tensor
 *   → encoder (one inference call) → index.upsert + index.flush → SQLite (assets, index_files).
 * Every batch is committed before the next one starts committing, vectors first: a run killed at
 * any point resumes where it stopped (a vector without its SQLite row is simply written again).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { DEFAULT_LIMIT_INPUT_PIXELS, tensorLength, writeChw } from '../../adapters/encode/onnx/index.ts';
import { type Progress, silentProgress } from '../../adapters/progress/index.ts';
import {
  acquireLock,
  assetIdForHash,
  type FileRow,
  galleryPaths,
  IndexedFiles,
  shardGalleryName,
} from '../../adapters/store/indexed-gallery.ts';
import { type GalleryAssetRecord, SqliteDatabase, SqliteGallery } from '../../adapters/store/sqlite/index.ts';
import { type IndexKind, type IndexSettings, openGalleryIndex } from '../../bots/vector-index.ts';
import type { IndexHeader, Preprocessing, VectorIndex } from '../../core/ports.ts';
import { BadImageError, type BadKind, decodeForIndex } from './decode.ts';
import { DownloadError, download, formatBytes } from './download.ts';
import { formatShard, inShard, type Shard } from './shard.ts';
import { type Candidate, collectSources, isUrl, titleFromSource } from './sources.ts';

export interface TensorEncoder {
  readonly id: string;
  readonly dim: number;
  readonly preprocessing: Preprocessing;
  /** Embed n preprocessed images (n × 3 × S × S floats). */
  embedTensor(tensor: Float32Array, n: number): Promise<Float32Array[]>;
}

export interface IndexRunOptions {
  /** Folders, list files, single images or URLs. */
  sources: string[];
  /** The gallery folder (DATA_DIR/galleries/<name>, or the shard's folder) and name. */
  dir: string;
  name: string;
  /**
   * Index only this shard's share of the sources (by a hash of each path or URL) into `dir`, a
   * gallery of its own that `genir index merge` combines with the others; Pinecone vectors go
   * straight into the gallery's namespace.
   */
  shard?: Shard;
  encoder: TensorEncoder;
  index: IndexSettings;
  /** Images per inference call (default: sized for the model's input). */
  batch?: number;
  /** Remove assets whose files are gone. */
  prune?: boolean;
  /** Throw away every vector and asset, and index everything again. */
  reindex?: boolean;
  /** Download URLs again even when already indexed. */
  refreshUrls?: boolean;
  maxDownloadBytes?: number;
  downloadTimeoutMs?: number;
  limitInputPixels?: number;
  /** Files read/decoded at once (default 16). */
  concurrency?: number;
  progress?: Progress;
  /** Abort between batches (what was committed stays). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  cwd?: string;
  /** Called after each committed batch with the number of candidates processed so far. */
  onBatch?: (processed: number) => void;
}

export interface BadFile {
  source: string;
  kind: BadKind | 'missing' | 'download' | 'unreadable';
  reason: string;
}

export interface IndexSummary {
  gallery: string;
  /** "i/n" for a shard run. */
  shard: string | null;
  dir: string;
  index: IndexKind;
  encoder: string;
  /** Files and URLs found. */
  found: number;
  /** Encoded and added this run. */
  indexed: number;
  /** Skipped: same path, mtime and size (or same content). */
  unchanged: number;
  /** Same content as an asset already indexed (indexed once). */
  duplicates: number;
  /** Assets removed: pruned, or their file now holds other content. */
  removed: number;
  /** Files of this gallery not found this run (kept; --prune removes them). */
  missing: number;
  bad: BadFile[];
  notes: string[];
  /** Gallery size after the run. */
  assets: number;
  vectors: number;
  seconds: number;
  /** Newly indexed images per second of the run. */
  imagesPerSecond: number;
  reindexed: boolean;
  /** Where the time went (seconds): finding files, waiting for decoded batches, encoding, committing. */
  timings: {
    open: number;
    collect: number;
    waitDecode: number;
    encode: number;
    commit: number;
    finish: number;
  };
}

export const DEFAULT_MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024;
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 30_000;

/** ~16 MB of input tensor per batch, between 8 and 128 images (64 px → 128; 224 px → 16). */
export function defaultBatchSize(p: Preprocessing): number {
  const fit = Math.floor((4 * 1024 * 1024) / tensorLength(p));
  return Math.max(8, Math.min(128, 2 ** Math.floor(Math.log2(Math.max(1, fit)))));
}

interface Encode {
  c: Exclude<Candidate, { kind: 'missing' }>;
  hash: string;
  assetId: string;
  width: number;
  height: number;
  bytes: number;
  /** Downloads: the local copy the bot shows. */
  copy?: string;
}

const EXTENSION: Record<string, string> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  tiff: 'tif',
  avif: 'avif',
};

interface Link {
  c: Exclude<Candidate, { kind: 'missing' }>;
  hash: string;
  assetId: string;
  bytes: number;
  /** Same content as a file decoded in this run (fails if that one failed). */
  pending: boolean;
}

interface Prepared {
  tensor: Float32Array;
  n: number;
  encodes: Encode[];
  links: Link[];
  bad: BadFile[];
}

export async function indexGallery(options: IndexRunOptions): Promise<IndexSummary> {
  const t0 = performance.now();
  const galleryDir = resolve(options.dir);
  const paths = galleryPaths(galleryDir);
  const release = await acquireLock(paths.lock);
  let db: SqliteDatabase | null = null;
  let index: VectorIndex | null = null;
  try {
    db = SqliteDatabase.open(paths.db);
    const gallery = new SqliteGallery(db);
    const files = new IndexedFiles(db);
    const { encoder } = options;
    const p = encoder.preprocessing;
    const per = tensorLength(p);
    const header: IndexHeader = { encoderId: encoder.id, dim: encoder.dim, preprocessing: p };
    const batchSize = Math.max(1, Math.floor(options.batch ?? defaultBatchSize(p)));
    const limitInputPixels = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
    const concurrency = Math.max(1, options.concurrency ?? 16);
    const notes: string[] = [];
    const bad: BadFile[] = [];

    let reindexed = options.reindex ?? false;
    const storedKind = files.getMeta('index');
    if (!reindexed && storedKind !== null && storedKind !== options.index.kind) {
      reindexed = true;
      notes.push(
        `the gallery was indexed with ${storedKind}; building the ${options.index.kind} index from scratch`,
      );
    }
    const { shard } = options;
    if (shard && reindexed && options.index.kind === 'pinecone') {
      throw new Error(
        `re-indexing shard ${formatShard(shard)} would empty the Pinecone namespace every shard writes to; ` +
          'run genir index --reindex once without --shard, or index into a new gallery name',
      );
    }
    // A different encoder than the stored index's → IndexMismatchError (its message says --reindex).
    index = await openGalleryIndex(paths, header, options.index, {
      reset: reindexed,
      galleryName: options.name,
    });
    const idx: VectorIndex = index;
    const storedEncoder = files.getMeta('encoder');
    if (!reindexed && storedEncoder !== null && storedEncoder !== encoder.id) {
      reindexed = true;
      notes.push(`the gallery was indexed with encoder ${storedEncoder}; indexing everything again`);
    }
    if (reindexed) {
      await gallery.removeAssets((await gallery.all()).map((a) => a.id));
      files.clear();
    }
    files.setMeta('name', shard ? shardGalleryName(options.name, shard.index, shard.count) : options.name);
    if (shard) files.setMeta('shard', JSON.stringify({ gallery: options.name, ...shard }));
    files.setMeta('header', JSON.stringify(header));
    // Set again when this run ends: `genir index merge` refuses a shard whose run did not finish.
    files.setMeta('complete', 'false');
    files.setMeta('index', options.index.kind);
    files.setMeta('encoder', encoder.id);
    files.setMeta(
      'sources',
      JSON.stringify(options.sources.map((s) => (isUrl(s) ? s : resolve(options.cwd ?? '.', s)))),
    );

    // Assets the index lost (deleted or rebuilt index file): index them again.
    const assetIds = new Set((await gallery.all()).map((a) => a.id));
    const listIds = (idx as { listIds?: () => string[] }).listIds?.bind(idx);
    if (listIds) {
      const inIndex = new Set(listIds());
      const lost = [...assetIds].filter((id) => !inIndex.has(id));
      if (lost.length > 0) {
        notes.push(`${lost.length} assets had no vector in the index; indexing them again`);
        for (const id of lost) assetIds.delete(id);
      }
    }

    const tOpen = performance.now();
    const { candidates, notes: walkNotes } = await collectSources(
      options.sources,
      options.cwd,
      shard ? inShard(shard) : undefined,
    );
    notes.push(...walkNotes);
    const known = new Map(files.all().map((r) => [r.source, r]));
    const seen = new Set<string>();
    const work: Exclude<Candidate, { kind: 'missing' }>[] = [];
    let unchanged = 0;
    for (const c of candidates) {
      seen.add(c.source);
      if (c.kind === 'missing') {
        bad.push({ source: c.source, kind: 'missing', reason: c.reason });
        continue;
      }
      const row = known.get(c.source);
      const indexed = row !== undefined && assetIds.has(row.assetId);
      if (c.kind === 'file' && indexed && row.mtime === c.mtime && row.size === c.size) unchanged++;
      else if (c.kind === 'url' && indexed && !options.refreshUrls) unchanged++;
      else work.push(c);
    }

    const downloadsDir = join(galleryDir, 'downloads');
    const isDownloadCopy = (path: string) => path.startsWith(downloadsDir + sep);
    // Content hashes claimed by a file of this run (decoded once), and failures by hash.
    const claimed = new Set<string>();
    const failedHash = new Map<string, string>();
    const progress = options.progress ?? silentProgress;
    const counts = { indexed: 0, duplicates: 0, removed: 0, unchanged };

    const readBytes = async (c: Encode['c']): Promise<Buffer> => {
      if (c.kind === 'url') {
        return download(c.source, {
          maxBytes: options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES,
          timeoutMs: options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS,
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      }
      return readFile(c.source);
    };

    const prepare = async (slice: Encode['c'][]): Promise<Prepared> => {
      const out: Prepared = {
        tensor: new Float32Array(per * slice.length),
        n: 0,
        encodes: [],
        links: [],
        bad: [],
      };
      await runPool(slice, concurrency, async (c) => {
        let bytes: Buffer;
        try {
          bytes = await readBytes(c);
        } catch (err) {
          if (err instanceof DownloadError)
            out.bad.push({ source: c.source, kind: 'download', reason: err.message });
          else if (options.signal?.aborted) throw err;
          else {
            const code = (err as NodeJS.ErrnoException).code;
            out.bad.push({
              source: c.source,
              kind: code === 'ENOENT' ? 'missing' : 'unreadable',
              reason:
                code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (err as Error).message})`,
            });
          }
          return;
        }
        if (bytes.length === 0) {
          out.bad.push({ source: c.source, kind: 'empty', reason: 'empty file (0 bytes)' });
          return;
        }
        const hash = createHash('sha256').update(bytes).digest('hex');
        const assetId = assetIdForHash(hash);
        if (assetIds.has(assetId) || claimed.has(hash)) {
          out.links.push({ c, hash, assetId, bytes: bytes.length, pending: !assetIds.has(assetId) });
          return;
        }
        claimed.add(hash);
        try {
          const image = await decodeForIndex(bytes, p, limitInputPixels);
          let copy: string | undefined;
          if (c.kind === 'url') {
            // Keep a copy: the bot shows (and `genir chat` hands over) local files only.
            copy = join(downloadsDir, `${assetId}.${EXTENSION[image.format] ?? 'img'}`);
            await mkdir(downloadsDir, { recursive: true });
            await writeFile(copy, bytes);
          }
          const slot = out.n++;
          writeChw(image.pixels, p, out.tensor, slot * per);
          out.encodes.push({
            c,
            hash,
            assetId,
            width: image.width,
            height: image.height,
            bytes: bytes.length,
            ...(copy ? { copy } : {}),
          });
        } catch (err) {
          claimed.delete(hash);
          const reason =
            err instanceof BadImageError ? err.message : `cannot decode (${(err as Error).message})`;
          failedHash.set(hash, reason);
          out.bad.push({
            source: c.source,
            kind: err instanceof BadImageError ? err.kind : 'corrupt',
            reason,
          });
        }
      });
      return out;
    };

    const fileRow = (c: Encode['c'], assetId: string, hash: string, bytes: number): FileRow => ({
      source: c.source,
      assetId,
      hash,
      mtime: c.kind === 'file' ? c.mtime : null,
      size: c.kind === 'file' ? c.size : bytes,
      indexedAt: Date.now(),
    });

    /** Remove assets no file holds any more; re-point assets whose shown file is gone. */
    const settle = async (affected: Iterable<string>) => {
      const orphans: string[] = [];
      const repoint: GalleryAssetRecord[] = [];
      const current = await gallery.getMany([...new Set(affected)]);
      for (const [id, asset] of current) {
        const holders = files.ofAsset(id);
        if (holders.length === 0) orphans.push(id);
        else if (isDownloadCopy(asset.source)) {
          if (!holders.some((h) => isUrl(h.source))) {
            // Only local files hold it now: show one of them.
            const h = holders[0] as FileRow;
            repoint.push({ ...asset, source: h.source, title: titleFromSource(h.source), hash: h.hash });
          }
        } else if (!holders.some((h) => h.source === asset.source)) {
          const h = holders[0] as FileRow;
          repoint.push({
            ...asset,
            source: h.source,
            title: titleFromSource(h.source),
            hash: h.hash,
            ...(h.mtime !== null ? { mtime: h.mtime } : {}),
            ...(h.size !== null ? { sizeBytes: h.size } : {}),
          });
        }
      }
      if (orphans.length > 0) {
        await idx.remove(orphans);
        await idx.flush();
        const gone = await gallery.getMany(orphans);
        await gallery.removeAssets(orphans);
        for (const asset of gone.values()) {
          if (isDownloadCopy(asset.source)) await rm(asset.source, { force: true });
        }
        for (const id of orphans) assetIds.delete(id);
        counts.removed += orphans.length;
      }
      await gallery.upsertAssets(repoint);
    };

    const commit = async (batch: Prepared, vectors: Float32Array[]) => {
      if (batch.encodes.length > 0) {
        await idx.upsert(
          batch.encodes.map((e, j) => ({
            id: e.assetId,
            vector: vectors[j] as Float32Array,
            metadata: { path: e.c.source, title: titleFromSource(e.c.source) },
          })),
        );
        await idx.flush();
      }
      const assets: GalleryAssetRecord[] = batch.encodes.map((e) => ({
        id: e.assetId,
        source: e.copy ?? e.c.source,
        title: titleFromSource(e.c.source),
        width: e.width,
        height: e.height,
        hash: e.hash,
        ...(e.c.kind === 'file' ? { mtime: e.c.mtime, sizeBytes: e.c.size } : { sizeBytes: e.bytes }),
      }));
      await gallery.upsertAssets(assets);
      for (const e of batch.encodes) assetIds.add(e.assetId);
      const rows: FileRow[] = batch.encodes.map((e) => fileRow(e.c, e.assetId, e.hash, e.bytes));
      for (const l of batch.links) {
        const failed = failedHash.get(l.hash);
        if (l.pending && !assetIds.has(l.assetId)) {
          bad.push({
            source: l.c.source,
            kind: 'corrupt',
            reason: failed ?? 'same content as a file that failed',
          });
          continue;
        }
        const before = known.get(l.c.source);
        if (before?.assetId === l.assetId) counts.unchanged++;
        else counts.duplicates++;
        rows.push(fileRow(l.c, l.assetId, l.hash, l.bytes));
      }
      const previous = rows
        .map((r) => known.get(r.source))
        .filter(
          (r): r is FileRow =>
            r !== undefined && !rows.some((x) => x.source === r.source && x.assetId === r.assetId),
        );
      // A file indexed before that is now bad (or gone) no longer holds its old content.
      const broken = batch.bad.map((b) => known.get(b.source)).filter((r): r is FileRow => r !== undefined);
      files.upsert(rows);
      files.remove(broken.map((r) => r.source));
      for (const r of rows) known.set(r.source, r);
      for (const r of broken) known.delete(r.source);
      bad.push(...batch.bad);
      counts.indexed += batch.encodes.length;
      // Files that now hold other content: their old asset may have no file left.
      const affected = [...previous, ...broken].map((r) => r.assetId);
      if (affected.length > 0) await settle(affected);
    };

    const tCollect = performance.now();
    const spent = { waitDecode: 0, encode: 0, commit: 0 };
    progress.start(work.length);
    const slices: Encode['c'][][] = [];
    for (let i = 0; i < work.length; i += batchSize) slices.push(work.slice(i, i + batchSize));
    let processed = 0;
    let next: Promise<Prepared> | null = slices.length > 0 ? prepare(slices[0] as Encode['c'][]) : null;
    // Batch i + 1 goes to the model before batch i is committed, so the model never waits for SQLite.
    let encoding: { batch: Prepared; size: number; vectors: Promise<Float32Array[]> } | null = null;
    const finish = async (done: NonNullable<typeof encoding>) => {
      let t = performance.now();
      const vectors = await done.vectors;
      spent.encode += performance.now() - t;
      t = performance.now();
      await commit(done.batch, vectors);
      spent.commit += performance.now() - t;
      processed += done.size;
      progress.update(processed);
      options.onBatch?.(processed);
      options.signal?.throwIfAborted();
    };
    try {
      for (let i = 0; i < slices.length; i++) {
        const t = performance.now();
        const current = await (next as Promise<Prepared>);
        next = i + 1 < slices.length ? prepare(slices[i + 1] as Encode['c'][]) : null;
        next?.catch(() => {});
        spent.waitDecode += performance.now() - t;
        const vectors =
          current.n > 0
            ? encoder.embedTensor(current.tensor.subarray(0, current.n * per), current.n)
            : Promise.resolve([]);
        vectors.catch(() => {}); // awaited in finish; a stop before then drops it
        const previous = encoding;
        encoding = { batch: current, size: (slices[i] as Encode['c'][]).length, vectors };
        if (previous) await finish(previous);
      }
      if (encoding) await finish(encoding);
    } finally {
      progress.stop();
    }

    const tLoop = performance.now();
    // Files of this gallery that were not found this run.
    const gone = [...known.values()].filter((r) => !seen.has(r.source));
    let missing = 0;
    if (options.prune) {
      files.remove(gone.map((r) => r.source));
      await settle(gone.map((r) => r.assetId));
      if (listIds) {
        const orphanVectors = listIds().filter((id) => !assetIds.has(id));
        if (orphanVectors.length > 0) {
          await idx.remove(orphanVectors);
          notes.push(`removed ${orphanVectors.length} vectors without an asset`);
        }
      }
    } else {
      missing = gone.length;
      if (missing > 0) {
        notes.push(`${missing} files indexed before were not found; run with --prune to remove them`);
      }
    }
    await idx.flush();
    const vectors = await idx.size();
    await idx.close?.();
    index = null;
    files.setMeta('complete', 'true');
    const tEnd = performance.now();
    const seconds = (tEnd - t0) / 1000;
    const sec = (ms: number) => Math.round(ms) / 1000;
    return {
      gallery: options.name,
      shard: shard ? formatShard(shard) : null,
      dir: galleryDir,
      index: options.index.kind,
      encoder: encoder.id,
      found: candidates.length,
      indexed: counts.indexed,
      unchanged: counts.unchanged,
      duplicates: counts.duplicates,
      removed: counts.removed,
      missing,
      bad,
      notes,
      assets: await gallery.count(),
      vectors,
      seconds: Math.round(seconds * 100) / 100,
      imagesPerSecond: seconds > 0 ? Math.round(counts.indexed / seconds) : 0,
      reindexed,
      timings: {
        open: sec(tOpen - t0),
        collect: sec(tCollect - tOpen),
        waitDecode: sec(spent.waitDecode),
        encode: sec(spent.encode),
        commit: sec(spent.commit),
        finish: sec(tEnd - tLoop),
      },
    };
  } finally {
    await index?.close?.().catch(() => {});
    db?.close();
    await release();
  }
}

/** Run fn over items with at most `limit` in flight; rejects with the first error after all settle. */
async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw failure;
}

/** One line per bad file, for the terminal summary. */
export function formatSummary(s: IndexSummary): string[] {
  const lines = [
    `Gallery "${s.gallery}"${s.shard ? `, shard ${s.shard}` : ''} (${s.index}, encoder ${s.encoder}): ${s.assets} images, ${s.vectors} vectors.`,
    `  found ${s.found} · indexed ${s.indexed} · unchanged ${s.unchanged} · duplicates ${s.duplicates} · removed ${s.removed}` +
      (s.missing > 0 ? ` · missing ${s.missing}` : '') +
      ` · skipped ${s.bad.length} · ${s.seconds} s (${s.imagesPerSecond} images/s)`,
  ];
  if (s.reindexed) lines.push('  re-indexed from scratch');
  for (const n of s.notes) lines.push(`  note: ${n}`);
  if (s.bad.length > 0) {
    lines.push(`  skipped files (${s.bad.length}):`);
    for (const b of s.bad) lines.push(`    ${b.source}: ${b.reason}`);
  }
  return lines;
}

export { formatBytes };
