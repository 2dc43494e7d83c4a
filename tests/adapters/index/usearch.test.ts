import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexMismatchError } from '../../../adapters/index/header.ts';
import {
  fromHalf,
  roundToHalf,
  toHalf,
  UsearchIndex,
  type UsearchIndexOptions,
  walPath,
} from '../../../adapters/index/usearch/index.ts';
import type { VectorIndex } from '../../../core/ports.ts';
import { createRng } from '../../../core/random.ts';
import {
  bruteForce,
  contractHeader as header,
  randomVector,
  vectorIndexContract,
} from '../../contracts/vector-index.ts';

let dir: string;
let n = 0;
const nextPath = () => join(dir, `idx-${n++}.usearch`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-usearch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const release = async (index: VectorIndex) => {
  await (index as UsearchIndex).close();
};

// Small galleries: exact search over the resident copy (the default below 20,000 vectors).
vectorIndexContract('usearch (exact below the threshold)', {
  async location() {
    const path = nextPath();
    return { open: (h) => UsearchIndex.open(path, h) };
  },
  release,
  scoreTolerance: 3e-3, // vectors are stored as f16
});

// HNSW forced on (threshold 0): approximate, so the contract asks for recall instead of equality.
// Built on one thread (as in openIndex below): a graph built in parallel differs from run to run.
vectorIndexContract('usearch (HNSW)', {
  async location() {
    const path = nextPath();
    return { open: (h) => UsearchIndex.open(path, h, { exactBelow: 0, threads: 1 }) };
  },
  release,
  scoreTolerance: 3e-3,
  minRecall: 0.9,
});

vectorIndexContract('usearch (HNSW, f32)', {
  async location() {
    const path = nextPath();
    return { open: (h) => UsearchIndex.open(path, h, { exactBelow: 0, dtype: 'f32', threads: 1 }) };
  },
  release,
  scoreTolerance: 1e-4,
  minRecall: 0.9,
});

function items(count: number, seed: number, dim = header.dim) {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) => ({ id: `img-${i}`, vector: randomVector(rng, dim) }));
}

/** Graphs built on one thread, so the same inputs give the same graph (and results) every run. */
async function openIndex(path: string, options: UsearchIndexOptions = {}) {
  return UsearchIndex.open(path, header, { threads: 1, ...options });
}

describe('f16 conversion', () => {
  it('encodes exact values, rounds to nearest even, and handles the extremes', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(0.5)).toBe(0x3800);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7c00);
    expect(toHalf(-0)).toBe(0x8000);
    expect(toHalf(2 ** -24)).toBe(1); // smallest subnormal
    expect(toHalf(2 ** -26)).toBe(0);
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to even (1).
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(fromHalf(toHalf(Number.NaN)))).toBe(true);
    for (const x of [0.1, -0.3333, 2.71, 1e-5, 2048.5]) {
      expect(Math.abs(fromHalf(toHalf(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
    }
    const v = Float32Array.from([0.1, 0.2, 0.3]);
    roundToHalf(v);
    expect(Array.from(v)).toEqual([fromHalf(toHalf(0.1)), fromHalf(toHalf(0.2)), fromHalf(toHalf(0.3))]);
  });
});

describe('UsearchIndex storage', () => {
  it('supports f16, i8 and f32; a reopened file keeps its own dtype', async () => {
    for (const dtype of ['f16', 'i8', 'f32'] as const) {
      const path = nextPath();
      const index = await openIndex(path, { dtype, exactBelow: 0 });
      const batch = items(200, 1);
      await index.upsert(batch);
      expect(index.dtype).toBe(dtype);
      for (const probe of [batch[3]!, batch[77]!]) {
        const [top] = await index.search(probe.vector, 1);
        expect(top?.id).toBe(probe.id);
        expect(top?.score).toBeCloseTo(1, 1);
      }
      await index.close();
      const reopened = await openIndex(path, { dtype: dtype === 'f16' ? 'f32' : 'f16' });
      expect(reopened.dtype).toBe(dtype);
      expect(await reopened.size()).toBe(200);
      await reopened.close();
    }
  });

  it('read-only opens memory-map the file and refuse writes', async () => {
    const path = nextPath();
    const writer = await openIndex(path, { exactBelow: 0 });
    const batch = items(300, 2);
    await writer.upsert(batch);
    await writer.close();

    const reader = await openIndex(path, { readOnly: true, exactBelow: 0 });
    expect(reader.memoryMapped).toBe(true);
    expect(await reader.size()).toBe(300);
    expect((await reader.search(batch[10]!.vector, 1))[0]?.id).toBe('img-10');
    const fetched = (await reader.fetch(['img-11'])).get('img-11')!;
    expect(bruteForce(new Map([['x', batch[11]!.vector]]), fetched)[0]!.score).toBeCloseTo(1, 3);
    await expect(reader.upsert(items(1, 3))).rejects.toThrow(/read-only/);
    await expect(reader.remove(['img-1'])).rejects.toThrow(/read-only/);
    await reader.close();

    await expect(openIndex(join(dir, 'missing.usearch'), { readOnly: true })).rejects.toThrow(
      /does not exist; build it with genir index/,
    );
  });

  it('a flush commits to the log: an unclosed index (a killed process) reopens with every flushed change', async () => {
    const path = nextPath();
    const index = await openIndex(path, { compactMinBytes: 1 << 30 });
    const batch = items(120, 4);
    await index.upsert(batch.slice(0, 100));
    await index.remove(['img-5']);
    await index.flush();
    const fileAfterFirstFlush = (await stat(path)).size;
    await index.upsert(batch.slice(100)); // never flushed: lost with the process
    await index.flush();
    await index.upsert(items(1, 99).map((x) => ({ ...x, id: 'unflushed' })));
    // No close(): the process "dies" here. The file itself was not rewritten (log only).
    expect((await stat(path)).size).toBe(fileAfterFirstFlush);

    const reopened = await openIndex(path);
    expect(await reopened.size()).toBe(119);
    expect((await reopened.fetch(['img-5', 'img-119', 'unflushed'])).size).toBe(1);
    expect((await reopened.search(batch[110]!.vector, 1))[0]?.id).toBe('img-110');
    // Read-only openers see the log too (loaded instead of mapped while a log is pending).
    const reader = await openIndex(path, { readOnly: true });
    expect(reader.memoryMapped).toBe(false);
    expect(await reader.size()).toBe(119);
    await reader.close();
    await reopened.close();
  });

  it('ignores a torn log tail and a stale log from before the last compaction', async () => {
    const path = nextPath();
    const big = { compactMinBytes: 1 << 30, exactBelow: 0 };
    const index = await openIndex(path, big);
    await index.upsert(items(12, 5));
    await index.flush();
    await appendFile(walPath(path), Buffer.from([200, 0, 0, 0, 1, 2, 3])); // half a record
    const reopened = await openIndex(path, big);
    expect(await reopened.size()).toBe(12);
    await reopened.remove(['img-11']);
    await reopened.flush();
    const staleLog = await readFile(walPath(path)); // holds "remove img-11"
    await reopened.compact();
    await reopened.upsert(items(12, 5).slice(11)); // img-11 is back
    await reopened.close();
    // Put the old log back, as if the process died between a file rename and the log reset:
    // it names an older generation, so replaying it (removing img-11 again) would be wrong.
    await writeFile(walPath(path), staleLog);
    const afterCrash = await openIndex(path, { readOnly: true, exactBelow: 0 });
    expect(afterCrash.memoryMapped).toBe(true);
    expect(await afterCrash.size()).toBe(12);
    expect((await afterCrash.fetch(['img-11'])).size).toBe(1);
    await afterCrash.close();
  });

  it('compaction rewrites one file atomically and empties the log', async () => {
    const path = nextPath();
    const index = await openIndex(path, { compactMinBytes: 1 << 30 });
    await index.upsert(items(500, 6));
    await index.flush();
    expect((await stat(walPath(path))).size).toBeGreaterThan(500 * header.dim * 4);
    await index.compact();
    expect((await stat(walPath(path))).size).toBeLessThan(64);
    const files = (await readdir(dir)).filter((f) => f.startsWith(path.split('/').pop()!));
    expect(files.sort()).toEqual([path.split('/').pop()!, `${path.split('/').pop()!}.wal`]);
    await index.close();
  });

  it('searches exactly below the threshold, or when asked, at any size', async () => {
    const path = nextPath();
    // A deliberately weak graph: exact results must not depend on it.
    const index = await openIndex(path, {
      exactBelow: 100,
      connectivity: 2,
      expansionAdd: 2,
      expansionSearch: 1,
    });
    const batch = items(400, 7);
    await index.upsert(batch.slice(0, 80));
    expect(index.searchesExactly).toBe(true);
    await index.upsert(batch.slice(80));
    expect(index.searchesExactly).toBe(false);
    const all = new Map(batch.map((b) => [b.id, b.vector]));
    const rng = createRng(70);
    const check = async (ix: UsearchIndex) => {
      for (let t = 0; t < 5; t++) {
        const q = randomVector(rng);
        const exclude = new Set(['img-1', 'img-2']);
        const hits = await ix.search(q, 10, { exact: true, exclude });
        const truth = bruteForce(all, q, exclude).slice(0, 10);
        expect(hits.map((h) => h.id)).toEqual(truth.map((h) => h.id));
        hits.forEach((h, i) => {
          expect(h.score).toBeCloseTo(truth[i]!.score, 2);
        });
      }
    };
    await check(index);
    await index.close();
    // Reopened above the threshold the vectors stay in the file; the exact scan streams them.
    const reopened = await openIndex(path, { exactBelow: 100, readOnly: true });
    await check(reopened);
    await reopened.close();
  });

  it('builds the HNSW graph only once the index grows past the exact-search threshold', async () => {
    const path = nextPath();
    const index = await openIndex(path, { exactBelow: 50 });
    const batch = items(120, 12);
    await index.upsert(batch.slice(0, 40));
    expect(index.hasGraph).toBe(false);
    await index.close();
    const small = await openIndex(path, { exactBelow: 50 });
    expect(small.hasGraph).toBe(false);
    await small.upsert(batch.slice(40, 60));
    expect(small.hasGraph).toBe(true);
    expect(small.searchesExactly).toBe(false);
    await small.upsert(batch.slice(60));
    const all = new Map(batch.map((b) => [b.id, b.vector]));
    const q = randomVector(createRng(120));
    const truth = bruteForce(all, q).slice(0, 5);
    expect((await small.search(q, 5)).map((h) => h.id)).toEqual(truth.map((h) => h.id));
    await small.close();
    const reader = await openIndex(path, { exactBelow: 50, readOnly: true });
    expect(reader.memoryMapped).toBe(true);
    expect((await reader.search(q, 5)).map((h) => h.id)).toEqual(truth.map((h) => h.id));
    await reader.close();

    // Saved without a graph, opened with a lower threshold: writers build it, readers scan exactly.
    const path2 = nextPath();
    const built = await openIndex(path2, { exactBelow: 1000 });
    await built.upsert(batch);
    await built.close();
    const reader2 = await openIndex(path2, { exactBelow: 10, readOnly: true });
    expect(reader2.hasGraph).toBe(false);
    expect((await reader2.search(q, 5)).map((h) => h.id)).toEqual(truth.map((h) => h.id));
    await reader2.close();
    const writer2 = await openIndex(path2, { exactBelow: 10 });
    expect(writer2.hasGraph).toBe(true);
    expect((await writer2.search(q, 5)).map((h) => h.id)).toEqual(truth.map((h) => h.id));
    await writer2.close();
  });

  it('fills K from the rest even when the graph alone cannot (many removals, big exclusions)', async () => {
    const path = nextPath();
    const index = await openIndex(path, { exactBelow: 0, connectivity: 4, expansionSearch: 4 });
    const batch = items(300, 8);
    await index.upsert(batch);
    await index.remove(batch.slice(0, 250).map((b) => b.id));
    const exclude = new Set(batch.slice(250, 280).map((b) => b.id));
    const hits = await index.search(randomVector(createRng(80)), 20, { exclude });
    expect(hits).toHaveLength(20);
    for (const h of hits) expect(Number(h.id.slice(4))).toBeGreaterThanOrEqual(280);
    await index.close();
  });

  it('keeps unusual ids (unicode, long, with separators) across compaction', async () => {
    const path = nextPath();
    const index = await openIndex(path);
    const odd = ['ünïcødé/ファイル.png', 'a:b:c', 'x'.repeat(2000), 'https://example.com/a b.jpg?x=1'];
    const rng = createRng(9);
    await index.upsert(odd.map((id) => ({ id, vector: randomVector(rng) })));
    await index.compact();
    await index.close();
    const reopened = await openIndex(path, { readOnly: true });
    expect(reopened.listIds().sort()).toEqual([...odd].sort());
    await reopened.close();
  });

  it('reports a corrupt file and a header mismatch clearly', async () => {
    const path = nextPath();
    await writeFile(path, 'definitely not an index, but long enough to have a footer');
    await expect(openIndex(path)).rejects.toThrow(/corrupt or not a usearch index/);

    const good = nextPath();
    const index = await openIndex(good);
    await index.upsert(items(3, 10));
    await index.close();
    const err = await UsearchIndex.open(good, { ...header, encoderId: 'clip-vit-b32' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IndexMismatchError);
  });

  it('in-memory indexes work without a file', async () => {
    const index = UsearchIndex.inMemory(header, { exactBelow: 0 });
    const batch = items(50, 11);
    await index.upsert(batch);
    await index.flush();
    expect(await index.size()).toBe(50);
    expect((await index.search(batch[20]!.vector, 1))[0]?.id).toBe('img-20');
    expect(index.path).toBeNull();
  });
});
