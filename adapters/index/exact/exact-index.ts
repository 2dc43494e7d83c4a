/**
 * Exact (brute-force) cosine index: one growable row-major Float32Array of unit vectors (living in
 * WebAssembly memory so a SIMD kernel can scan it; see dots.ts). Search is one pass of row dot
 * products, then a bounded min-heap for the top K (no full sort, no per-row allocation). Removal
 * swaps the last row into the hole, so the matrix stays dense.
 *
 * File format (single file, little-endian):
 *   "GENIRIDX" (8 bytes) | u32 header length | header JSON (utf8)
 *   | u32 ids length | ids JSON array (utf8) | zero padding to a multiple of 4
 *   | float32 data, count × dim
 * The header JSON is { format, kind: "exact", encoderId, dim, preprocessing, count }.
 * flush() writes a temporary file next to the target and renames it over (atomic on POSIX).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { IndexHeader, SearchHit, VectorIndex } from '../../../core/ports.ts';
import { replaceFile } from '../../store/replace-file.ts';
import { assertHeaderMatches, parseIndexHeader } from '../header.ts';
import { createDotKernel, type DotKernel, type DotKernelName } from './dots.ts';

const MAGIC = Buffer.from('GENIRIDX', 'ascii');
export const EXACT_INDEX_FORMAT = 1;

if (endianness() !== 'LE')
  throw new Error('ExactIndex files are little-endian; big-endian hosts are unsupported');

export interface ExactIndexOptions {
  /** Dot-product kernel: WebAssembly SIMD when available ('auto', default), or force one. */
  kernel?: DotKernelName | 'auto';
}

export class ExactIndex implements VectorIndex {
  readonly header: IndexHeader;
  /** File path, or null for an in-memory index. */
  readonly path: string | null;
  private readonly dim: number;
  /** Floats per stored row: dim rounded up to a multiple of 8, zero padded. */
  private readonly stride: number;
  private readonly kernel: DotKernel;
  /** Memory layout (bytes): query (stride floats) | rows (capacity × stride) | scores (capacity). */
  private capacity = 0;
  private view: Float32Array;
  private ids: string[] = [];
  private rows = new Map<string, number>();
  private dirty = false;
  private flushing: Promise<void> = Promise.resolve();

  private constructor(header: IndexHeader, path: string | null, options: ExactIndexOptions, capacity = 1024) {
    if (!Number.isInteger(header.dim) || header.dim <= 0) throw new Error(`invalid index dim ${header.dim}`);
    this.header = structuredClone(header);
    this.path = path;
    this.dim = header.dim;
    this.stride = Math.ceil(header.dim / 8) * 8;
    this.kernel = createDotKernel(options.kernel ?? 'auto');
    this.view = new Float32Array(this.kernel.buffer());
    this.ensureCapacity(Math.max(1, capacity));
  }

  /** An index that lives only in memory (flush is a no-op). */
  static inMemory(header: IndexHeader, options: ExactIndexOptions = {}): ExactIndex {
    return new ExactIndex(header, null, options);
  }

  /**
   * Load the index file at `path`, or create it (empty) when missing. Throws IndexMismatchError
   * when the file was built with a different encoder id, dimension or preprocessing.
   */
  static async open(path: string, header: IndexHeader, options: ExactIndexOptions = {}): Promise<ExactIndex> {
    let bytes: Buffer | null = null;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (bytes === null) {
      const index = new ExactIndex(header, path, options);
      index.dirty = true;
      await index.flush();
      return index;
    }
    const parsed = decodeFile(bytes, path);
    assertHeaderMatches(path, parsed.header, header);
    const count = parsed.ids.length;
    const index = new ExactIndex(header, path, options, count);
    const { dim, stride } = index;
    const m = index.memory();
    for (let row = 0; row < count; row++) {
      m.set(parsed.data.subarray(row * dim, (row + 1) * dim), stride + row * stride);
    }
    index.ids = parsed.ids;
    parsed.ids.forEach((id, row) => {
      index.rows.set(id, row);
    });
    return index;
  }

  /** Which dot-product kernel this index runs ('wasm' SIMD or plain 'js'). */
  get kernelName(): DotKernelName {
    return this.kernel.name;
  }

  async upsert(items: { id: string; vector: Float32Array }[]): Promise<void> {
    const { dim, stride } = this;
    // Validate everything first, so a bad item changes nothing.
    const norms = new Float64Array(items.length);
    items.forEach((item, i) => {
      if (typeof item.id !== 'string' || item.id === '')
        throw new Error(`upsert item ${i}: id must be a non-empty string`);
      if (item.vector.length !== dim) {
        throw new Error(
          `upsert item ${i} (${item.id}): vector has ${item.vector.length} dims, index has ${dim}`,
        );
      }
      const n = norm(item.vector);
      if (!(n > 0) || !Number.isFinite(n)) {
        throw new Error(`upsert item ${i} (${item.id}): vector is zero or not finite`);
      }
      norms[i] = n;
    });
    let added = 0;
    for (const item of items) if (!this.rows.has(item.id)) added++;
    this.ensureCapacity(this.ids.length + added);
    const m = this.memory();
    items.forEach((item, i) => {
      let row = this.rows.get(item.id);
      if (row === undefined) {
        row = this.ids.length;
        this.ids.push(item.id);
        this.rows.set(item.id, row);
      }
      const inv = 1 / norms[i]!;
      const base = stride + row * stride;
      const v = item.vector;
      for (let j = 0; j < dim; j++) m[base + j] = v[j]! * inv;
    });
    if (items.length > 0) this.dirty = true;
  }

  async search(
    vector: Float32Array,
    k: number,
    options: { exclude?: ReadonlySet<string> } = {},
  ): Promise<SearchHit[]> {
    return this.searchSync(vector, k, options.exclude);
  }

  /** Synchronous search (what `search` runs); handy for benchmarks. */
  searchSync(vector: Float32Array, k: number, exclude?: ReadonlySet<string>): SearchHit[] {
    const { dim, stride } = this;
    if (vector.length !== dim) throw new Error(`query has ${vector.length} dims, index has ${dim}`);
    const count = this.ids.length;
    k = Math.min(Math.floor(k), count);
    if (!(k > 0)) return [];
    const qn = norm(vector);
    if (!(qn > 0) || !Number.isFinite(qn)) throw new Error('query vector is zero or not finite');
    const m = this.memory();
    for (let j = 0; j < dim; j++) m[j] = vector[j]! / qn;

    const scoresAt = stride + this.capacity * stride;
    this.kernel.dots(stride * 4, 0, stride, count, scoresAt * 4);
    const scores = this.memory().subarray(scoresAt, scoresAt + count);

    const checkExclude = exclude !== undefined && exclude.size > 0;
    const heapScore = new Float64Array(k);
    const heapRow = new Int32Array(k);
    let size = 0;
    const ids = this.ids;
    for (let row = 0; row < count; row++) {
      const s = scores[row]!;
      if (size === k && s <= heapScore[0]!) continue;
      if (checkExclude && exclude.has(ids[row]!)) continue;
      if (size < k) {
        // sift up
        let i = size++;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (heapScore[parent]! <= s) break;
          heapScore[i] = heapScore[parent]!;
          heapRow[i] = heapRow[parent]!;
          i = parent;
        }
        heapScore[i] = s;
        heapRow[i] = row;
      } else {
        // replace the minimum, sift down
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= k) break;
          const r = l + 1;
          const c = r < k && heapScore[r]! < heapScore[l]! ? r : l;
          if (heapScore[c]! >= s) break;
          heapScore[i] = heapScore[c]!;
          heapRow[i] = heapRow[c]!;
          i = c;
        }
        heapScore[i] = s;
        heapRow[i] = row;
      }
    }
    const hits: SearchHit[] = [];
    for (let i = 0; i < size; i++) hits.push({ id: ids[heapRow[i]!]!, score: heapScore[i]! });
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits;
  }

  async fetch(ids: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const m = this.memory();
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row === undefined) continue;
      const base = this.stride + row * this.stride;
      out.set(id, m.slice(base, base + this.dim));
    }
    return out;
  }

  async remove(ids: string[]): Promise<void> {
    const { stride } = this;
    const m = this.memory();
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row === undefined) continue;
      const last = this.ids.length - 1;
      if (row !== last) {
        const lastId = this.ids[last]!;
        m.copyWithin(stride + row * stride, stride + last * stride, stride + (last + 1) * stride);
        this.ids[row] = lastId;
        this.rows.set(lastId, row);
      }
      this.ids.pop();
      this.rows.delete(id);
      this.dirty = true;
    }
  }

  async size(): Promise<number> {
    return this.ids.length;
  }

  /** Ids in storage order (a copy). */
  listIds(): string[] {
    return this.ids.slice();
  }

  async flush(): Promise<void> {
    const next = this.flushing.then(() => this.writeIfDirty());
    this.flushing = next.catch(() => {});
    return next;
  }

  /** Writes pending changes; nothing else to release (the vectors live in memory). */
  close(): Promise<void> {
    return this.flush();
  }

  private async writeIfDirty(): Promise<void> {
    if (this.path === null || !this.dirty) return;
    this.dirty = false;
    const { dim, stride } = this;
    const count = this.ids.length;
    const m = this.memory();
    const data = new Float32Array(count * dim);
    for (let row = 0; row < count; row++) {
      data.set(m.subarray(stride + row * stride, stride + row * stride + dim), row * dim);
    }
    const bytes = encodeFile(this.header, this.ids, data);
    try {
      await replaceFile(this.path, (tmp) => writeFile(tmp, bytes), { durable: true });
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  /** The kernel memory as floats (re-created after the memory grows). */
  private memory(): Float32Array {
    const buffer = this.kernel.buffer();
    if (this.view.buffer !== buffer) this.view = new Float32Array(buffer);
    return this.view;
  }

  private ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = Math.max(rows, Math.ceil(this.capacity * 1.5), 1024);
    // query + rows + scores; rows stay in place, the scores scratch area moves up.
    this.kernel.ensureBytes((this.stride + capacity * this.stride + capacity) * 4);
    this.capacity = capacity;
  }
}

function norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function encodeFile(header: IndexHeader, ids: string[], data: Float32Array): Buffer {
  const headerJson = Buffer.from(
    JSON.stringify({
      format: EXACT_INDEX_FORMAT,
      kind: 'exact',
      encoderId: header.encoderId,
      dim: header.dim,
      preprocessing: header.preprocessing,
      count: ids.length,
    }),
    'utf8',
  );
  const idsJson = Buffer.from(JSON.stringify(ids), 'utf8');
  const prefix = MAGIC.length + 4 + headerJson.length + 4 + idsJson.length;
  const pad = (4 - (prefix % 4)) % 4;
  const out = Buffer.alloc(prefix + pad + data.byteLength);
  let o = MAGIC.copy(out, 0);
  o = out.writeUInt32LE(headerJson.length, o);
  o += headerJson.copy(out, o);
  o = out.writeUInt32LE(idsJson.length, o);
  o += idsJson.copy(out, o);
  o += pad;
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, o);
  return out;
}

function decodeFile(bytes: Buffer, path: string): { header: IndexHeader; ids: string[]; data: Float32Array } {
  const corrupt = (what: string): never => {
    throw new Error(`index file ${path} is corrupt or not an exact index (${what})`);
  };
  if (bytes.length < MAGIC.length + 8 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) corrupt('bad magic');
  let o = MAGIC.length;
  const headerLen = bytes.readUInt32LE(o);
  o += 4;
  if (o + headerLen + 4 > bytes.length) corrupt('truncated header');
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(bytes.toString('utf8', o, o + headerLen));
  } catch {
    corrupt('header is not JSON');
  }
  o += headerLen;
  if (raw.format !== EXACT_INDEX_FORMAT) corrupt(`unsupported format version ${String(raw.format)}`);
  const header = parseIndexHeader(raw, `index file ${path}`);
  const count = raw.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) corrupt('bad count');
  const idsLen = bytes.readUInt32LE(o);
  o += 4;
  if (o + idsLen > bytes.length) corrupt('truncated ids');
  let ids: unknown = null;
  try {
    ids = JSON.parse(bytes.toString('utf8', o, o + idsLen));
  } catch {
    corrupt('ids are not JSON');
  }
  if (!Array.isArray(ids) || ids.length !== count || ids.some((x) => typeof x !== 'string')) corrupt('ids');
  o += idsLen;
  o += (4 - (o % 4)) % 4;
  const floats = (count as number) * header.dim;
  if (bytes.length !== o + floats * 4) corrupt(`expected ${floats} floats`);
  // Copy into a fresh, aligned buffer.
  const data = new Float32Array(floats);
  Buffer.from(data.buffer).set(bytes.subarray(o, o + floats * 4));
  return { header, ids: ids as string[], data };
}
