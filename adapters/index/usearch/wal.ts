/**
 * Write-ahead log of a usearch index file: `<index>.wal`. Rewriting a million-vector index on every
 * commit would cost O(N) per batch, so a commit appends the batch's operations here (one write +
 * fsync) and the full file is rewritten (compacted) only when the log grows past a fraction of it.
 *
 * Layout: "GENIRWAL" | u32 generation length | generation (utf8), then records:
 *   u32 payload length | u32 crc32(payload) | payload
 *   payload = u8 op (1 upsert, 2 remove) | u16 id length | id (utf8) | [upsert: dim × f32 LE]
 * The generation names the snapshot the log applies to; a log of another generation is stale (its
 * operations are already in the snapshot) and is discarded. A torn or corrupt tail (a crash in the
 * middle of an append) ends the replay: everything before it was committed.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from('GENIRWAL', 'ascii');

export type WalOp = { op: 'upsert'; id: string; vector: Float32Array } | { op: 'remove'; id: string };

export function encodeWalRecords(ops: readonly WalOp[], dim: number): Buffer {
  const parts: Buffer[] = [];
  for (const o of ops) {
    const id = Buffer.from(o.id, 'utf8');
    if (id.length > 0xffff) throw new Error(`id too long for the index log (${id.length} bytes)`);
    const payload = Buffer.alloc(3 + id.length + (o.op === 'upsert' ? dim * 4 : 0));
    payload.writeUInt8(o.op === 'upsert' ? 1 : 2, 0);
    payload.writeUInt16LE(id.length, 1);
    id.copy(payload, 3);
    if (o.op === 'upsert') {
      const v = o.vector;
      if (v.length !== dim) throw new Error(`log record ${o.id}: ${v.length} dims, expected ${dim}`);
      Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(payload, 3 + id.length);
    }
    const head = Buffer.alloc(8);
    head.writeUInt32LE(payload.length, 0);
    head.writeUInt32LE(crc32(payload), 4);
    parts.push(head, payload);
  }
  return Buffer.concat(parts);
}

export function walHeader(generation: string): Buffer {
  const g = Buffer.from(generation, 'utf8');
  const head = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(g.length, MAGIC.length);
  return Buffer.concat([head, g]);
}

export interface WalContents {
  generation: string | null;
  ops: WalOp[];
  /** Byte length of the valid prefix (header + whole records). */
  validBytes: number;
  /** True when bytes after the valid prefix were ignored (torn or corrupt tail). */
  tornTail: boolean;
}

/** Read a log file; a missing file reads as empty. */
export async function readWal(path: string, dim: number): Promise<WalContents> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { generation: null, ops: [], validBytes: 0, tornTail: false };
    throw err;
  }
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { generation: null, ops: [], validBytes: 0, tornTail: bytes.length > 0 };
  }
  const glen = bytes.readUInt32LE(MAGIC.length);
  let o = MAGIC.length + 4 + glen;
  if (o > bytes.length) return { generation: null, ops: [], validBytes: 0, tornTail: true };
  const generation = bytes.toString('utf8', MAGIC.length + 4, o);
  const ops: WalOp[] = [];
  while (o + 8 <= bytes.length) {
    const len = bytes.readUInt32LE(o);
    const sum = bytes.readUInt32LE(o + 4);
    if (o + 8 + len > bytes.length || len < 3) break;
    const payload = bytes.subarray(o + 8, o + 8 + len);
    if (crc32(payload) !== sum) break;
    const kind = payload.readUInt8(0);
    const idLen = payload.readUInt16LE(1);
    if (3 + idLen > len) break;
    const id = payload.toString('utf8', 3, 3 + idLen);
    if (kind === 1) {
      if (len !== 3 + idLen + dim * 4) break;
      const vector = new Float32Array(dim);
      Buffer.from(vector.buffer).set(payload.subarray(3 + idLen));
      ops.push({ op: 'upsert', id, vector });
    } else if (kind === 2) {
      if (len !== 3 + idLen) break;
      ops.push({ op: 'remove', id });
    } else break;
    o += 8 + len;
  }
  return { generation, ops, validBytes: o, tornTail: o < bytes.length };
}

/** An open log, appended to by commits. */
export class WalWriter {
  private constructor(
    readonly path: string,
    private readonly handle: Awaited<ReturnType<typeof open>>,
    private bytes: number,
    /** Size of the log's header: a log of this size holds no records. */
    readonly headerBytes: number,
  ) {}

  /** Start a new, empty log for `generation` (replacing any file at `path`). */
  static async create(path: string, generation: string): Promise<WalWriter> {
    const handle = await open(path, 'w');
    const head = walHeader(generation);
    await handle.writeFile(head);
    await handle.sync();
    return new WalWriter(path, handle, head.length, head.length);
  }

  /** Continue an existing log, cutting off a torn tail first. */
  static async resume(path: string, generation: string, validBytes: number): Promise<WalWriter> {
    const handle = await open(path, 'r+');
    await handle.truncate(validBytes);
    await handle.sync();
    return new WalWriter(path, handle, validBytes, walHeader(generation).length);
  }

  get size(): number {
    return this.bytes;
  }

  /** Append records and fsync: when this resolves, they survive a crash. */
  async append(records: Buffer): Promise<void> {
    if (records.length === 0) return;
    await this.handle.write(records, 0, records.length, this.bytes);
    await this.handle.sync();
    this.bytes += records.length;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  async closeAndDelete(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.path, { force: true });
  }
}
