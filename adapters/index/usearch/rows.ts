/**
 * genir's copy of the stored vectors, by key (usearch's JS binding cannot return a stored vector).
 * Keys below `base` live in the index file (positional reads) unless replaced since; keys from
 * `base` on live in a growable in-memory matrix (f16 or f32, like the file).
 */
import type { FileHandle } from 'node:fs/promises';
import { decodeHalves, encodeHalves } from './f16.ts';
import { type RowDtype, readRows, type UsearchFileMeta } from './file.ts';

export class RowStore {
  private tail: Float32Array | Uint16Array;
  private tailRows = 0;
  private readonly replaced = new Map<number, Float32Array>();

  constructor(
    readonly dim: number,
    readonly rowDtype: RowDtype,
    /** Rows in the file: keys [0, base). */
    readonly base = 0,
    private readonly file: { handle: FileHandle; meta: UsearchFileMeta } | null = null,
  ) {
    this.tail = this.alloc(64);
  }

  /** Keys known: [0, rows). */
  get rows(): number {
    return this.base + this.tailRows;
  }

  /** Bytes held in memory (tail capacity + replaced rows). */
  get memoryBytes(): number {
    return this.tail.byteLength + this.replaced.size * this.dim * 4;
  }

  set(key: number, vector: Float32Array): void {
    if (key < this.base) {
      this.replaced.set(key, vector.slice());
      return;
    }
    const row = key - this.base;
    if (row >= this.tailRows) {
      this.grow(row + 1);
      this.tailRows = row + 1;
    }
    const at = row * this.dim;
    if (this.tail instanceof Uint16Array) encodeHalves(vector, this.tail.subarray(at, at + this.dim));
    else this.tail.set(vector, at);
  }

  /** Forget a key's vector (its row becomes zeros). */
  clear(key: number): void {
    if (key < this.base) {
      this.replaced.set(key, new Float32Array(this.dim));
      return;
    }
    const row = key - this.base;
    if (row < this.tailRows) this.tail.fill(0, row * this.dim, (row + 1) * this.dim);
  }

  /** Vectors of keys [start, start + n), decoded, as one matrix. */
  async read(start: number, n: number): Promise<Float32Array> {
    const { dim } = this;
    const out = new Float32Array(n * dim);
    const fileEnd = Math.min(start + n, this.base);
    if (start < fileEnd && this.file)
      out.set(await readRows(this.file.handle, this.file.meta, start, fileEnd - start));
    for (let key = start; key < start + n; key++) {
      if (key < this.base) {
        const r = this.replaced.get(key);
        if (r) out.set(r, (key - start) * dim);
      } else {
        const row = key - this.base;
        if (row >= this.tailRows) continue;
        const src = this.tail.subarray(row * dim, (row + 1) * dim);
        const dst = out.subarray((key - start) * dim, (key - start + 1) * dim);
        if (src instanceof Uint16Array) decodeHalves(src, dst);
        else dst.set(src);
      }
    }
    return out;
  }

  async get(key: number): Promise<Float32Array> {
    return this.read(key, 1);
  }

  private alloc(rows: number): Float32Array | Uint16Array {
    return this.rowDtype === 'f16' ? new Uint16Array(rows * this.dim) : new Float32Array(rows * this.dim);
  }

  private grow(rows: number): void {
    const capacity = this.tail.length / this.dim;
    if (rows <= capacity) return;
    const next = this.alloc(Math.max(rows, Math.ceil(capacity * 1.5)));
    next.set(this.tail.subarray(0, this.tailRows * this.dim) as never);
    this.tail = next;
  }
}
