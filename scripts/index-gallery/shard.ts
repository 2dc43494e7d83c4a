/**
 * Sharded indexing: `genir index <sources> --shard i/n` indexes only the files whose path (or URL)
 * hashes to shard i of n, so n machines each read and encode a disjoint share of one gallery. The
 * share is decided from the path alone (no file is read or even stat'ed to decide), and is the same
 * on every machine that sees the files at the same path.
 */
import { createHash } from 'node:crypto';

/** Shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** "2/3" → { index: 2, count: 3 }; throws a message naming the form expected. */
export function parseShard(value: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) {
    throw new Error(`--shard must be i/n with 1 ≤ i ≤ n, e.g. --shard 2/3 (got "${value}")`);
  }
  return { index, count };
}

/** The shard (1-based) of a source among `count`: the first 8 bytes of its sha256, modulo count. */
export function shardOf(source: string, count: number): number {
  const digest = createHash('sha256').update(source).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(count)) + 1;
}

export const inShard =
  (shard: Shard) =>
  (source: string): boolean =>
    shardOf(source, shard.count) === shard.index;

/** "2/3" */
export const formatShard = (shard: Shard): string => `${shard.index}/${shard.count}`;
