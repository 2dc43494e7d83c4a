/**
 * Approximate cosine index on usearch HNSW, for galleries past what an exact scan serves quickly.
 *
 * - Vectors are stored f16 by default (i8 and f32 by option), normalized to unit length.
 * - One index file (see file.ts), memory-mapped with usearch `view` when opened read-only (the bot),
 *   loaded when opened for writing (the indexer). Writes commit to a write-ahead log beside it
 *   (`<file>.wal`, see wal.ts) and are compacted into the file when the log grows, or on compact().
 * - Below `exactBelow` live vectors (default 20,000) search is exact (brute force over a resident
 *   copy); `search(..., { exact: true })` forces it at any size.
 * - Seen-exclusion: HNSW over-fetch (k + excluded ids present), then filter, widening until K are
 *   found; an exact scan fills K if the graph runs out.
 * - String ids ↔ usearch u64 keys: key = row number in the file, the id list is stored in the file.
 * - The header (encoder id, dim, preprocessing) is stored in the file and checked on open.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Index, MetricKind, ScalarKind } from 'usearch';
import type { IndexHeader, SearchHit, VectorIndex } from '../../../core/ports.ts';
import { replaceFile } from '../../store/replace-file.ts';
import { ExactIndex } from '../exact/exact-index.ts';
import { assertHeaderMatches } from '../header.ts';
import { roundToHalf } from './f16.ts';
import {
  appendTrailer,
  type RowDtype,
  readSnapshotInfo,
  USEARCH_FILE_FORMAT,
  type UsearchDtype,
  type UsearchFileMeta,
} from './file.ts';
import { RowStore } from './rows.ts';
import { encodeWalRecords, readWal, type WalOp, WalWriter } from './wal.ts';

export const DEFAULT_EXACT_BELOW = 20_000;

/** HNSW parameters chosen with `npm run bench:search` (see docs/indexing.md). */
export const DEFAULT_HNSW = { connectivity: 16, expansionAdd: 128, expansionSearch: 192 } as const;

export interface UsearchIndexOptions {
  /** Scalar type of the HNSW vectors for a new index (default f16); an existing file keeps its own. */
  dtype?: UsearchDtype;
  /** HNSW M: neighbours per node (new indexes; default 16). */
  connectivity?: number;
  /** HNSW ef at construction (default 128). */
  expansionAdd?: number;
  /** HNSW ef at search (default 192: recall@10 ≈ 0.97 at 1M × 512 f16); at least K. */
  expansionSearch?: number;
  /** Exact search while the index holds at most this many vectors (default 20,000; 0 = never). */
  exactBelow?: number;
  /** Memory-map the file (usearch view) and refuse writes. */
  readOnly?: boolean;
  /** Threads for usearch add (0 = all cores). */
  threads?: number;
  /** Compact the log into the file when it exceeds max(compactMinBytes, compactRatio × file size). */
  compactMinBytes?: number;
  compactRatio?: number;
  /**
   * Bulk builds (benchmarks): do not log writes; nothing is durable until compact()/close().
   * Default true.
   */
  logWrites?: boolean;
}

export interface UsearchSearchOptions {
  exclude?: ReadonlySet<string>;
  /** Brute-force search regardless of size. */
  exact?: boolean;
}

const SCALAR: Record<UsearchDtype, ScalarKind> = {
  f16: ScalarKind.F16,
  i8: ScalarKind.I8,
  f32: ScalarKind.F32,
};

export class UsearchIndex implements VectorIndex {
  readonly header: IndexHeader;
  /** File path, or null for an in-memory index. */
  readonly path: string | null;
  readonly dtype: UsearchDtype;
  readonly connectivity: number;
  readonly expansionAdd: number;
  readonly expansionSearch: number;
  readonly exactBelow: number;
  readonly readOnly: boolean;
  private readonly dim: number;
  private readonly rowDtype: RowDtype;
  private readonly threads: number;
  private readonly compactMinBytes: number;
  private readonly compactRatio: number;
  private readonly logWrites: boolean;

  private native: Index;
  /** Whether the native index is a memory-mapped view of the file. */
  private viewing = false;
  /**
   * Whether the HNSW graph is built. Below `exactBelow` vectors search is exact, so the graph is
   * only built (in one multi-threaded pass) when the index first grows past it.
   */
  private graph: boolean;
  private idsByKey: (string | null)[] = [];
  private readonly keyById = new Map<string, number>();
  private rows: RowStore;
  /** Exact-search copy, kept while the index is small. */
  private mirror: ExactIndex | null = null;
  private file: { handle: FileHandle; meta: UsearchFileMeta } | null = null;
  /** Handles of replaced files, closed a moment later (a concurrent fetch may still read one) or on close(). */
  private readonly retired = new Set<FileHandle>();
  private wal: WalWriter | null = null;
  private pending: WalOp[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    header: IndexHeader,
    path: string | null,
    options: UsearchIndexOptions,
    stored?: Pick<UsearchFileMeta, 'dtype' | 'connectivity' | 'expansionAdd' | 'graph'>,
  ) {
    if (!Number.isInteger(header.dim) || header.dim <= 0) throw new Error(`invalid index dim ${header.dim}`);
    this.header = structuredClone(header);
    this.path = path;
    this.dim = header.dim;
    this.dtype = stored?.dtype ?? options.dtype ?? 'f16';
    if (!(this.dtype in SCALAR)) throw new Error(`unknown usearch dtype "${this.dtype}" (f16, i8 or f32)`);
    this.rowDtype = this.dtype === 'f32' ? 'f32' : 'f16';
    this.connectivity = stored?.connectivity ?? options.connectivity ?? DEFAULT_HNSW.connectivity;
    this.expansionAdd = stored?.expansionAdd ?? options.expansionAdd ?? DEFAULT_HNSW.expansionAdd;
    this.expansionSearch = options.expansionSearch ?? DEFAULT_HNSW.expansionSearch;
    this.exactBelow = options.exactBelow ?? DEFAULT_EXACT_BELOW;
    this.readOnly = options.readOnly ?? false;
    this.threads = options.threads ?? 0;
    this.compactMinBytes = options.compactMinBytes ?? 32 * 1024 * 1024;
    this.compactRatio = options.compactRatio ?? 0.5;
    this.logWrites = options.logWrites ?? true;
    this.native = this.newNative();
    this.graph = stored?.graph ?? this.exactBelow === 0;
    this.rows = new RowStore(this.dim, this.rowDtype);
    this.mirror = this.exactBelow > 0 ? ExactIndex.inMemory(this.header) : null;
  }

  /** An index that lives only in memory (flush is a no-op). */
  static inMemory(header: IndexHeader, options: UsearchIndexOptions = {}): UsearchIndex {
    return new UsearchIndex(header, null, { ...options, readOnly: false });
  }

  /**
   * Open the index file at `path`, creating it (empty) when missing unless read-only. Throws
   * IndexMismatchError when it was built with a different encoder id, dimension or preprocessing.
   */
  static async open(
    path: string,
    header: IndexHeader,
    options: UsearchIndexOptions = {},
  ): Promise<UsearchIndex> {
    let handle: FileHandle | null = null;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (handle === null) {
      if (options.readOnly) throw new Error(`index file ${path} does not exist; build it with genir index`);
      const index = new UsearchIndex(header, path, options);
      await mkdir(dirname(path), { recursive: true });
      await index.compact();
      return index;
    }
    let index: UsearchIndex;
    try {
      const info = await readSnapshotInfo(handle, path);
      assertHeaderMatches(path, info.meta.header, header);
      index = new UsearchIndex(header, path, options, info.meta);
      await index.attach(handle, info.meta, info.ids);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    return index;
  }

  /** Load (or view) the file's usearch data and ids, then replay the log. */
  private async attach(handle: FileHandle, meta: UsearchFileMeta, ids: (string | null)[]): Promise<void> {
    const path = this.path as string;
    const log = await readWal(walPath(path), this.dim);
    const logOps = log.generation === meta.generation ? log.ops : [];
    if (meta.graph) {
      this.viewing = this.readOnly && logOps.length === 0;
      try {
        if (this.viewing) this.native.view(path);
        else this.native.load(path);
      } catch (err) {
        throw new Error(
          `cannot ${this.viewing ? 'map' : 'load'} index file ${path}: ${(err as Error).message}`,
        );
      }
      if (this.native.size() !== meta.count) {
        throw new Error(
          `index file ${path} is inconsistent (${this.native.size()} vectors, ${meta.count} ids)`,
        );
      }
    }
    this.file = { handle, meta };
    this.idsByKey = ids;
    ids.forEach((id, key) => {
      if (id !== null) this.keyById.set(id, key);
    });
    this.rows = new RowStore(this.dim, this.rowDtype, meta.rows, this.file);
    this.mirror = null;
    if (meta.count <= this.exactBelow) await this.loadMirror();
    // Replay in batches (one multi-threaded add per run of upserts; last write of an id wins).
    let run = new Map<string, Float32Array>();
    const applyRun = async () => {
      if (run.size === 0) return;
      await this.applyUpsert([...run].map(([id, vector]) => ({ id, vector })));
      run = new Map();
    };
    for (const op of logOps) {
      if (op.op === 'upsert') {
        run.delete(op.id);
        run.set(op.id, op.vector);
        if (run.size >= 8192) await applyRun();
      } else {
        await applyRun();
        await this.applyRemove([op.id]);
      }
    }
    await applyRun();
    // Built small, opened with a lower threshold: build the graph now (writers only; a read-only
    // opener searches exactly instead).
    if (!this.graph && !this.readOnly && this.keyById.size > this.exactBelow) await this.buildGraph();
    if (!this.readOnly) {
      this.wal =
        log.generation === meta.generation
          ? await WalWriter.resume(walPath(path), meta.generation, log.validBytes)
          : await WalWriter.create(walPath(path), meta.generation);
    }
  }

  private newNative(): Index {
    return new Index({
      dimensions: this.dim,
      metric: MetricKind.Cos,
      quantization: SCALAR[this.dtype],
      connectivity: this.connectivity,
      expansion_add: this.expansionAdd,
      expansion_search: this.expansionSearch,
      multi: false,
    });
  }

  /** True while searches are brute force (small index, or asked). */
  get searchesExactly(): boolean {
    return this.keyById.size <= this.exactBelow || !this.graph;
  }

  /** Whether the HNSW graph exists (it is built when the index first grows past exactBelow). */
  get hasGraph(): boolean {
    return this.graph;
  }

  /** Whether the HNSW data is memory-mapped from the file. */
  get memoryMapped(): boolean {
    return this.viewing;
  }

  async upsert(items: { id: string; vector: Float32Array }[]): Promise<void> {
    this.assertWritable();
    const prepared = this.prepare(items);
    await this.exclusive(async () => {
      await this.applyUpsert(prepared);
      if (this.path !== null && this.logWrites)
        for (const p of prepared) this.pending.push({ op: 'upsert', ...p });
    });
  }

  async remove(ids: string[]): Promise<void> {
    this.assertWritable();
    await this.exclusive(async () => {
      const removed = await this.applyRemove(ids);
      if (this.path !== null && this.logWrites)
        for (const id of removed) this.pending.push({ op: 'remove', id });
    });
  }

  async search(vector: Float32Array, k: number, options: UsearchSearchOptions = {}): Promise<SearchHit[]> {
    return this.searchNow(vector, k, options);
  }

  private async searchNow(
    vector: Float32Array,
    k: number,
    options: UsearchSearchOptions,
  ): Promise<SearchHit[]> {
    if (vector.length !== this.dim) throw new Error(`query has ${vector.length} dims, index has ${this.dim}`);
    const count = this.keyById.size;
    k = Math.min(Math.floor(k), count);
    if (!(k > 0)) return [];
    const q = unitOrThrow(vector, 'query vector');
    const exclude = options.exclude;
    if (options.exact || count <= this.exactBelow || !this.graph) return this.exactSearch(q, k, exclude);

    let excluded = 0;
    if (exclude) for (const id of exclude) if (this.keyById.has(id)) excluded++;
    const query = this.dtype === 'i8' ? scaledForI8(q) : q;
    let want = Math.min(count, k + excluded);
    for (;;) {
      const m = this.native.search(query, want, 1);
      const hits: SearchHit[] = [];
      for (let i = 0; i < m.keys.length; i++) {
        const id = this.idsByKey[Number(m.keys[i])];
        if (id == null || exclude?.has(id)) continue;
        hits.push({ id, score: 1 - m.distances[i]! });
      }
      if (hits.length >= k) return sortHits(hits).slice(0, k);
      if (want >= count) {
        // The graph returned fewer than asked (possible after removals): fill from a scan.
        return this.exactSearch(q, k, exclude);
      }
      want = Math.min(count, want * 2);
    }
  }

  async fetch(ids: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const present = ids.filter((id) => this.keyById.has(id));
    if (present.length === 0) return out;
    if (this.mirror) return this.mirror.fetch(present);
    for (const id of present) {
      const key = this.keyById.get(id);
      if (key === undefined) continue;
      out.set(id, await this.rows.get(key));
    }
    return out;
  }

  async size(): Promise<number> {
    return this.keyById.size;
  }

  /** Commit pending changes to the log (fsync); compacts the file when the log has grown large. */
  async flush(): Promise<void> {
    if (this.path === null || this.readOnly || !this.logWrites) return;
    await this.exclusive(async () => {
      if (this.pending.length > 0 && this.wal) {
        const records = encodeWalRecords(this.pending, this.dim);
        await this.wal.append(records);
        this.pending = [];
      }
      const fileBytes = this.file ? await fileSize(this.file.handle) : 0;
      const logBytes = this.wal?.size ?? 0;
      if (!this.file || logBytes > Math.max(this.compactMinBytes, this.compactRatio * fileBytes)) {
        await this.compactNow();
      }
    });
  }

  /** Rewrite the index file with everything (atomic rename) and empty the log. */
  async compact(): Promise<void> {
    if (this.path === null || this.readOnly) return;
    await this.exclusive(() => this.compactNow());
  }

  /**
   * Commit and, when the log holds records, compact (so read-only openers can memory-map a clean
   * file); then release the file handles.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    await this.exclusive(async () => {
      const unlogged = !this.logWrites && !this.readOnly && this.path !== null;
      if (unlogged || (this.wal && this.wal.size > this.wal.headerBytes)) await this.compactNow();
      this.closed = true;
      await this.wal?.close();
      this.wal = null;
      await this.file?.handle.close();
      this.file = null;
      await Promise.all([...this.retired].map((h) => this.retire(h)));
    });
  }

  private async retire(handle: FileHandle): Promise<void> {
    if (!this.retired.delete(handle)) return;
    await handle.close().catch(() => {}); // already closed is fine: the file is being replaced
  }

  /** Ids in key order (a copy). */
  listIds(): string[] {
    return this.idsByKey.filter((id): id is string => id !== null);
  }

  // --- internals ---

  private assertWritable(): void {
    if (this.readOnly) throw new Error(`index ${this.path ?? '(memory)'} is open read-only`);
    if (this.closed) throw new Error(`index ${this.path ?? '(memory)'} is closed`);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Validate (all or nothing), dedupe by id (last wins), normalize and round to storage precision. */
  private prepare(items: { id: string; vector: Float32Array }[]): { id: string; vector: Float32Array }[] {
    const byId = new Map<string, Float32Array>();
    items.forEach((item, i) => {
      if (typeof item.id !== 'string' || item.id === '')
        throw new Error(`upsert item ${i}: id must be a non-empty string`);
      if (Buffer.byteLength(item.id) > 0xffff) throw new Error(`upsert item ${i}: id is too long`);
      if (item.vector.length !== this.dim) {
        throw new Error(
          `upsert item ${i} (${item.id}): vector has ${item.vector.length} dims, index has ${this.dim}`,
        );
      }
      const unit = unitOrThrow(item.vector, `upsert item ${i} (${item.id}): vector`);
      byId.delete(item.id);
      byId.set(item.id, this.rowDtype === 'f16' ? roundToHalf(unit) : unit);
    });
    return [...byId].map(([id, vector]) => ({ id, vector }));
  }

  private async applyUpsert(items: { id: string; vector: Float32Array }[]): Promise<void> {
    if (items.length === 0) return;
    const { dim } = this;
    const keys = new BigUint64Array(items.length);
    const matrix = this.graph ? new Float32Array(items.length * dim) : null;
    const replaced: bigint[] = [];
    items.forEach((item, i) => {
      let key = this.keyById.get(item.id);
      if (key === undefined) {
        key = this.idsByKey.length;
        this.idsByKey.push(item.id);
        this.keyById.set(item.id, key);
      } else replaced.push(BigInt(key));
      keys[i] = BigInt(key);
      matrix?.set(this.dtype === 'i8' ? scaledForI8(item.vector) : item.vector, i * dim);
      this.rows.set(key, item.vector);
    });
    if (matrix) {
      if (replaced.length > 0) this.native.remove(BigUint64Array.from(replaced));
      this.native.add(keys, matrix, this.threads);
    } else if (this.keyById.size > this.exactBelow) {
      await this.buildGraph();
    }
    if (this.mirror) {
      if (this.keyById.size > this.exactBelow) this.mirror = null;
      else await this.mirror.upsert(items);
    }
  }

  private async applyRemove(ids: string[]): Promise<string[]> {
    const removed: string[] = [];
    const keys: bigint[] = [];
    for (const id of ids) {
      const key = this.keyById.get(id);
      if (key === undefined) continue;
      this.keyById.delete(id);
      this.idsByKey[key] = null;
      this.rows.clear(key);
      keys.push(BigInt(key));
      removed.push(id);
    }
    if (keys.length > 0 && this.graph) this.native.remove(BigUint64Array.from(keys));
    if (removed.length > 0) await this.mirror?.remove(removed);
    return removed;
  }

  /** Add every live vector to the (empty) HNSW graph, in multi-threaded chunks. */
  private async buildGraph(): Promise<void> {
    const { dim } = this;
    const CHUNK = 8192;
    const total = this.idsByKey.length;
    for (let start = 0; start < total; start += CHUNK) {
      const n = Math.min(CHUNK, total - start);
      const rows = await this.rows.read(start, n);
      const keys: bigint[] = [];
      const matrix = new Float32Array(n * dim);
      let m = 0;
      for (let j = 0; j < n; j++) {
        if (this.idsByKey[start + j] == null) continue;
        const v = rows.subarray(j * dim, (j + 1) * dim);
        matrix.set(this.dtype === 'i8' ? scaledForI8(v) : v, m * dim);
        keys.push(BigInt(start + j));
        m++;
      }
      if (m > 0) this.native.add(BigUint64Array.from(keys), matrix.subarray(0, m * dim), this.threads);
    }
    this.graph = true;
  }

  private async loadMirror(): Promise<void> {
    const mirror = ExactIndex.inMemory(this.header);
    const CHUNK = 4096;
    const total = this.idsByKey.length;
    for (let start = 0; start < total; start += CHUNK) {
      const n = Math.min(CHUNK, total - start);
      const matrix = await this.rows.read(start, n);
      const batch: { id: string; vector: Float32Array }[] = [];
      for (let j = 0; j < n; j++) {
        const id = this.idsByKey[start + j];
        if (id != null) batch.push({ id, vector: matrix.subarray(j * this.dim, (j + 1) * this.dim) });
      }
      await mirror.upsert(batch);
    }
    this.mirror = mirror;
  }

  private async exactSearch(q: Float32Array, k: number, exclude?: ReadonlySet<string>): Promise<SearchHit[]> {
    if (this.mirror) return this.mirror.searchSync(q, k, exclude);
    // Streamed scan over the stored rows (rare: exact asked on a large index, or shrunk by removals).
    const { dim } = this;
    const heap: SearchHit[] = [];
    const CHUNK = 8192;
    const total = this.idsByKey.length;
    for (let start = 0; start < total; start += CHUNK) {
      const n = Math.min(CHUNK, total - start);
      const matrix = await this.rows.read(start, n);
      for (let j = 0; j < n; j++) {
        const id = this.idsByKey[start + j];
        if (id == null || exclude?.has(id)) continue;
        let dot = 0;
        let nn = 0;
        const base = j * dim;
        for (let i = 0; i < dim; i++) {
          const x = matrix[base + i]!;
          dot += x * q[i]!;
          nn += x * x;
        }
        const score = nn > 0 ? dot / Math.sqrt(nn) : 0;
        pushTopK(heap, { id, score }, k);
      }
    }
    return sortHits(heap);
  }

  private async compactNow(): Promise<void> {
    const path = this.path as string;
    const generation = randomBytes(8).toString('hex');
    const ids = this.idsByKey.slice();
    const meta = {
      format: USEARCH_FILE_FORMAT,
      kind: 'usearch' as const,
      header: this.header,
      dtype: this.dtype,
      connectivity: this.connectivity,
      expansionAdd: this.expansionAdd,
      graph: this.graph,
      generation,
      rows: ids.length,
      count: this.keyById.size,
      rowDtype: this.rowDtype,
    };
    await replaceFile(
      path,
      async (tmp) => {
        this.native.save(tmp);
        const out = await open(tmp, 'r+');
        try {
          await appendTrailer(out, meta, ids, async (start, n) => {
            const matrix = await this.rows.read(start, n);
            return Array.from({ length: n }, (_, j) =>
              ids[start + j] == null ? null : matrix.subarray(j * this.dim, (j + 1) * this.dim),
            );
          });
        } finally {
          await out.close();
        }
      },
      { durable: true },
    );
    // The old log (previous generation) is now stale; start the new one.
    await this.wal?.close();
    this.wal = null;
    if (this.logWrites) this.wal = await WalWriter.create(walPath(path), generation);
    else await rm(walPath(path), { force: true });
    this.pending = [];
    // Swap to the new file before closing the old one (a concurrent fetch may still read it).
    const handle = await open(path, 'r');
    const info = await readSnapshotInfo(handle, path);
    const old = this.file;
    this.file = { handle, meta: info.meta };
    this.rows = new RowStore(this.dim, this.rowDtype, info.meta.rows, this.file);
    if (old) {
      this.retired.add(old.handle);
      setTimeout(() => void this.retire(old.handle), 1000).unref();
    }
    if (this.keyById.size <= this.exactBelow) {
      if (!this.mirror) await this.loadMirror();
    } else this.mirror = null;
  }
}

export const walPath = (indexPath: string): string => `${indexPath}.wal`;

async function fileSize(handle: FileHandle): Promise<number> {
  return (await handle.stat()).size;
}

function unitOrThrow(v: Float32Array, what: string): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${what} is zero or not finite`);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n;
  return out;
}

/**
 * usearch's i8 cast multiplies by 127 and clamps to [-1, 1] first; unit vectors of hundreds of
 * dimensions have components far below 1 and would keep only a few levels. Cosine ignores length,
 * so scale each vector to a max |component| of 1 to use the full int8 range.
 */
function scaledForI8(v: Float32Array): Float32Array {
  let max = 0;
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]!));
  const out = new Float32Array(v.length);
  const s = max > 0 ? 1 / max : 1;
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * s;
  return out;
}

function sortHits(hits: SearchHit[]): SearchHit[] {
  return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Keep the best k in `heap` (a min-heap on score). */
function pushTopK(heap: SearchHit[], hit: SearchHit, k: number): void {
  if (heap.length < k) {
    heap.push(hit);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]!.score <= hit.score) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = hit;
    return;
  }
  if (hit.score <= heap[0]!.score) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= k) break;
    const r = l + 1;
    const c = r < k && heap[r]!.score < heap[l]!.score ? r : l;
    if (heap[c]!.score >= hit.score) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = hit;
}
