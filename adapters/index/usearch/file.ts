/**
 * The usearch index file: usearch's own serialization first (so `Index.view` can memory-map the
 * file as is; usearch ignores bytes after its data), then a trailer written by genir:
 *
 *   [usearch index (HNSW graph + quantized vectors)]
 *   [meta JSON: header (encoder id, dim, preprocessing), dtype, HNSW params, generation, offsets]
 *   [ids JSON: one entry per key (row), null for a removed key]
 *   [zero padding to 8] [vectors: rows × dim, f16 or f32 LE, zero rows for removed keys]
 *   [footer, 24 bytes: u64 meta offset | u32 meta length | u32 0 | "GENIRUS1"]
 *
 * Keys are row numbers: key k ↔ ids[k] ↔ vector row k. The vector rows are genir's own copy
 * (usearch's JS binding cannot return a stored vector): `fetch` reads them with positional reads,
 * and small indexes load them for exact search.
 */
import type { FileHandle } from 'node:fs/promises';
import type { IndexHeader } from '../../../core/ports.ts';
import { parseIndexHeader } from '../header.ts';
import { decodeHalves, toHalf } from './f16.ts';

export const USEARCH_FILE_FORMAT = 1;
const FOOTER_MAGIC = Buffer.from('GENIRUS1', 'ascii');
export const FOOTER_BYTES = 24;

export type UsearchDtype = 'f16' | 'i8' | 'f32';
export type RowDtype = 'f16' | 'f32';

export interface UsearchFileMeta {
  format: number;
  kind: 'usearch';
  header: IndexHeader;
  dtype: UsearchDtype;
  connectivity: number;
  expansionAdd: number;
  /** Whether the HNSW graph is built (it is not while the index is small enough for exact search). */
  graph: boolean;
  /** Random token naming this snapshot; the write-ahead log must carry the same one. */
  generation: string;
  /** Number of keys (rows), live or removed. */
  rows: number;
  /** Live entries. */
  count: number;
  rowDtype: RowDtype;
  idsOffset: number;
  idsLength: number;
  vectorsOffset: number;
}

export interface SnapshotInfo {
  meta: UsearchFileMeta;
  ids: (string | null)[];
  fileBytes: number;
}

export const rowBytes = (meta: Pick<UsearchFileMeta, 'rowDtype' | 'header'>): number =>
  meta.header.dim * (meta.rowDtype === 'f16' ? 2 : 4);

export class CorruptIndexFileError extends Error {
  override readonly name = 'CorruptIndexFileError';
}

/** Read the trailer of an index file (not the vectors). */
export async function readSnapshotInfo(handle: FileHandle, path: string): Promise<SnapshotInfo> {
  const corrupt = (what: string): never => {
    throw new CorruptIndexFileError(`index file ${path} is corrupt or not a usearch index (${what})`);
  };
  const { size } = await handle.stat();
  if (size < FOOTER_BYTES) corrupt('too short');
  const footer = Buffer.alloc(FOOTER_BYTES);
  await handle.read(footer, 0, FOOTER_BYTES, size - FOOTER_BYTES);
  if (!footer.subarray(16).equals(FOOTER_MAGIC)) corrupt('bad footer');
  const metaOffset = Number(footer.readBigUInt64LE(0));
  const metaLength = footer.readUInt32LE(8);
  if (metaOffset + metaLength > size - FOOTER_BYTES) corrupt('bad meta offset');
  const metaBytes = Buffer.alloc(metaLength);
  await handle.read(metaBytes, 0, metaLength, metaOffset);
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(metaBytes.toString('utf8'));
  } catch {
    corrupt('meta is not JSON');
  }
  if (raw.format !== USEARCH_FILE_FORMAT || raw.kind !== 'usearch')
    corrupt(`unsupported format ${String(raw.format)}`);
  const header = parseIndexHeader(raw.header, `index file ${path}`);
  const int = (key: string): number => {
    const v = raw[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) corrupt(`bad ${key}`);
    return v as number;
  };
  const dtype = raw.dtype;
  if (dtype !== 'f16' && dtype !== 'i8' && dtype !== 'f32') corrupt('bad dtype');
  const rowDtype = raw.rowDtype;
  if (rowDtype !== 'f16' && rowDtype !== 'f32') corrupt('bad rowDtype');
  if (typeof raw.generation !== 'string') corrupt('bad generation');
  if (typeof raw.graph !== 'boolean') corrupt('bad graph flag');
  const meta: UsearchFileMeta = {
    format: USEARCH_FILE_FORMAT,
    kind: 'usearch',
    header,
    dtype: dtype as UsearchDtype,
    connectivity: int('connectivity'),
    graph: raw.graph === true,
    expansionAdd: int('expansionAdd'),
    generation: raw.generation as string,
    rows: int('rows'),
    count: int('count'),
    rowDtype: rowDtype as RowDtype,
    idsOffset: int('idsOffset'),
    idsLength: int('idsLength'),
    vectorsOffset: int('vectorsOffset'),
  };
  if (meta.vectorsOffset + meta.rows * rowBytes(meta) !== metaOffset) corrupt('bad vectors section');
  const idsBytes = Buffer.alloc(meta.idsLength);
  await handle.read(idsBytes, 0, meta.idsLength, meta.idsOffset);
  let ids: unknown = null;
  try {
    ids = JSON.parse(idsBytes.toString('utf8'));
  } catch {
    corrupt('ids are not JSON');
  }
  if (!Array.isArray(ids) || ids.length !== meta.rows) corrupt('ids');
  let live = 0;
  for (const id of ids as unknown[]) {
    if (id === null) continue;
    if (typeof id !== 'string' || id === '') corrupt('ids');
    live++;
  }
  if (live !== meta.count) corrupt('count');
  return { meta, ids: ids as (string | null)[], fileBytes: size };
}

/**
 * Append the trailer to a file that holds usearch's serialization. `rows(start, n)` yields the
 * vectors of keys start..start+n-1 (null for removed keys), in chunks.
 */
export async function appendTrailer(
  handle: FileHandle,
  meta: Omit<UsearchFileMeta, 'idsOffset' | 'idsLength' | 'vectorsOffset'>,
  ids: readonly (string | null)[],
  rows: (start: number, n: number) => Promise<(Float32Array | null)[]>,
): Promise<number> {
  let offset = (await handle.stat()).size;
  const write = async (buf: Buffer) => {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await handle.write(buf, done, buf.length - done, offset + done);
      done += bytesWritten;
    }
    offset += buf.length;
  };
  const idsJson = Buffer.from(JSON.stringify(ids), 'utf8');
  const idsOffset = offset;
  await write(idsJson);
  const pad = (8 - (offset % 8)) % 8;
  if (pad) await write(Buffer.alloc(pad));
  const vectorsOffset = offset;
  const dim = meta.header.dim;
  const perRow = rowBytes(meta);
  const CHUNK = 4096;
  for (let start = 0; start < meta.rows; start += CHUNK) {
    const n = Math.min(CHUNK, meta.rows - start);
    const vectors = await rows(start, n);
    const buf = Buffer.alloc(n * perRow);
    for (let j = 0; j < n; j++) {
      const v = vectors[j];
      if (!v) continue;
      if (meta.rowDtype === 'f32') {
        Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(buf, j * perRow);
      } else {
        const halves = new Uint16Array(buf.buffer, buf.byteOffset + j * perRow, dim);
        for (let i = 0; i < dim; i++) halves[i] = toHalf(v[i]!);
      }
    }
    await write(buf);
  }
  const metaOffset = offset;
  const full: UsearchFileMeta = { ...meta, idsOffset, idsLength: idsJson.length, vectorsOffset };
  const metaJson = Buffer.from(JSON.stringify(full), 'utf8');
  await write(metaJson);
  const footer = Buffer.alloc(FOOTER_BYTES);
  footer.writeBigUInt64LE(BigInt(metaOffset), 0);
  footer.writeUInt32LE(metaJson.length, 8);
  FOOTER_MAGIC.copy(footer, 16);
  await write(footer);
  return offset;
}

/** Read `n` rows starting at key `start` (decoded to f32). */
export async function readRows(
  handle: FileHandle,
  meta: UsearchFileMeta,
  start: number,
  n: number,
): Promise<Float32Array> {
  const dim = meta.header.dim;
  const perRow = rowBytes(meta);
  const out = new Float32Array(n * dim);
  const buf = Buffer.alloc(n * perRow);
  let done = 0;
  const position = meta.vectorsOffset + start * perRow;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new CorruptIndexFileError('index file ended inside the vectors section');
    done += bytesRead;
  }
  if (meta.rowDtype === 'f32') {
    Buffer.from(out.buffer).set(buf);
  } else {
    // buf is freshly allocated from the pool or alone; copy to guarantee 2-byte alignment.
    const halves = new Uint16Array(n * dim);
    Buffer.from(halves.buffer).set(buf);
    decodeHalves(halves, out);
  }
  return out;
}
