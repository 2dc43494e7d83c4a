import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DotKernelName, ExactIndex, wasmSimdAvailable } from '../../../adapters/index/exact/index.ts';
import { IndexMismatchError } from '../../../adapters/index/header.ts';
import type { IndexHeader } from '../../../core/ports.ts';
import { createRng, type Rng } from '../../../core/random.ts';

const header: IndexHeader = {
  encoderId: 'test-enc',
  dim: 24,
  preprocessing: { size: 64, resize: 'stretch', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function randomVector(rng: Rng, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = gaussian(rng);
  return v;
}

const units = new WeakMap<Float32Array, Float64Array>();

function unit(v: Float32Array): Float64Array {
  const cached = units.get(v);
  if (cached) return cached;
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  const u = Float64Array.from(v, (x) => x / n);
  units.set(v, u);
  return u;
}

function bruteForce(
  items: Map<string, Float32Array>,
  query: Float32Array,
  k: number,
  exclude: ReadonlySet<string> = new Set(),
): { id: string; score: number }[] {
  const q = unit(query);
  const scored: { id: string; score: number }[] = [];
  for (const [id, v] of items) {
    if (exclude.has(id)) continue;
    const u = unit(v);
    let s = 0;
    for (let i = 0; i < u.length; i++) s += u[i]! * q[i]!;
    scored.push({ id, score: s });
  }
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, k);
}

function expectSameHits(actual: { id: string; score: number }[], expected: { id: string; score: number }[]) {
  expect(actual.map((h) => h.id)).toEqual(expected.map((h) => h.id));
  actual.forEach((h, i) => {
    expect(h.score).toBeCloseTo(expected[i]!.score, 5);
  });
}

async function filledIndex(n: number, seed: number, kernel: DotKernelName | 'auto' = 'auto') {
  const rng = createRng(seed);
  const index = ExactIndex.inMemory(header, { kernel });
  const items = new Map<string, Float32Array>();
  const batch: { id: string; vector: Float32Array }[] = [];
  for (let i = 0; i < n; i++) {
    const id = `asset-${i}`;
    const vector = randomVector(rng, header.dim);
    items.set(id, vector);
    batch.push({ id, vector });
  }
  await index.upsert(batch);
  return { index, items, rng };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-exact-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ExactIndex search', () => {
  it('uses the WebAssembly SIMD kernel on this runtime', () => {
    expect(wasmSimdAvailable()).toBe(true);
    expect(ExactIndex.inMemory(header).kernelName).toBe('wasm');
  });

  it.each(['wasm', 'js'] as const)(
    '%s kernel: same top-K ids and scores as brute force (growing past the initial capacity)',
    async (kernel) => {
      const { index, items, rng } = await filledIndex(2500, 1, kernel);
      expect(index.kernelName).toBe(kernel);
      expect(await index.size()).toBe(2500);
      for (const k of [1, 5, 10, 50]) {
        for (let t = 0; t < 10; t++) {
          const query = randomVector(rng, header.dim);
          expectSameHits(await index.search(query, k), bruteForce(items, query, k));
        }
      }
    },
  );

  it('returns hits sorted by score, at most k, and all items when k exceeds the size', async () => {
    const { index, rng } = await filledIndex(7, 2);
    const hits = await index.search(randomVector(rng, header.dim), 100);
    expect(hits).toHaveLength(7);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    expect(await index.search(randomVector(rng, header.dim), 0)).toEqual([]);
  });

  it('finds a stored vector first with score 1 (vectors are normalized on upsert)', async () => {
    const { index, items } = await filledIndex(200, 3);
    const v = items.get('asset-42')!;
    const scaled = v.map((x) => x * 7.5);
    const [top] = await index.search(scaled, 1);
    expect(top?.id).toBe('asset-42');
    expect(top?.score).toBeCloseTo(1, 5);
  });

  it.each(['wasm', 'js'] as const)(
    '%s kernel: never returns excluded ids and fills K from the rest',
    async (kernel) => {
      const { index, items, rng } = await filledIndex(500, 4, kernel);
      const query = randomVector(rng, header.dim);
      const first = await index.search(query, 20);
      const exclude = new Set(first.slice(0, 10).map((h) => h.id));
      exclude.add('not-in-index');
      const hits = await index.search(query, 20, { exclude });
      expect(hits).toHaveLength(20);
      for (const h of hits) expect(exclude.has(h.id)).toBe(false);
      expectSameHits(hits, bruteForce(items, query, 20, exclude));
      expect(hits.slice(0, 10).map((h) => h.id)).toEqual(first.slice(10).map((h) => h.id));
    },
  );

  it('rejects queries and vectors of the wrong dimension, and zero vectors', async () => {
    const index = ExactIndex.inMemory(header);
    await expect(index.upsert([{ id: 'a', vector: new Float32Array(3) }])).rejects.toThrow(
      /3 dims, index has 24/,
    );
    await expect(index.upsert([{ id: 'a', vector: new Float32Array(24) }])).rejects.toThrow(/zero/);
    expect(await index.size()).toBe(0);
    await index.upsert([{ id: 'a', vector: new Float32Array(24).fill(1) }]);
    await expect(index.search(new Float32Array(5).fill(1), 3)).rejects.toThrow(/5 dims/);
  });
});

describe('ExactIndex upsert, remove, fetch', () => {
  it('upsert of an existing id replaces its vector without growing the index', async () => {
    const { index, items, rng } = await filledIndex(100, 5);
    const replacement = randomVector(rng, header.dim);
    await index.upsert([{ id: 'asset-7', vector: replacement }]);
    items.set('asset-7', replacement);
    expect(await index.size()).toBe(100);
    const [top] = await index.search(replacement, 1);
    expect(top).toEqual({ id: 'asset-7', score: expect.closeTo(1, 5) });
    const fetched = (await index.fetch(['asset-7'])).get('asset-7')!;
    const u = unit(replacement);
    fetched.forEach((x, i) => {
      expect(x).toBeCloseTo(u[i]!, 6);
    });
    const query = randomVector(rng, header.dim);
    expectSameHits(await index.search(query, 10), bruteForce(items, query, 10));
  });

  it.each(['wasm', 'js'] as const)(
    '%s kernel: remove drops ids (unknown ids are ignored) and search still matches brute force',
    async (kernel) => {
      const { index, items, rng } = await filledIndex(300, 6, kernel);
      const gone = ['asset-0', 'asset-299', 'asset-150', 'asset-151', 'nope'];
      await index.remove(gone);
      for (const id of gone) items.delete(id);
      expect(await index.size()).toBe(296);
      const fetched = await index.fetch(['asset-0', 'asset-1', 'asset-299']);
      expect([...fetched.keys()]).toEqual(['asset-1']);
      for (let t = 0; t < 10; t++) {
        const query = randomVector(rng, header.dim);
        const hits = await index.search(query, 300);
        expect(hits).toHaveLength(296);
        for (const h of hits) expect(gone).not.toContain(h.id);
        expectSameHits(hits.slice(0, 15), bruteForce(items, query, 15));
      }
      // removed ids can come back
      await index.upsert([{ id: 'asset-0', vector: items.get('asset-1')! }]);
      expect(await index.size()).toBe(297);
    },
  );

  it('fetch returns copies of the stored unit vectors', async () => {
    const { index } = await filledIndex(10, 7);
    const a = (await index.fetch(['asset-3'])).get('asset-3')!;
    let s = 0;
    for (const x of a) s += x * x;
    expect(Math.sqrt(s)).toBeCloseTo(1, 6);
    a.fill(0);
    const b = (await index.fetch(['asset-3'])).get('asset-3')!;
    expect(b.some((x) => x !== 0)).toBe(true);
  });
});

describe('ExactIndex persistence', () => {
  it('creates the file on open, and flush + reopen gives the same results', async () => {
    const path = join(dir, 'sub', 'round-trip.idx');
    const index = await ExactIndex.open(path, header);
    expect(await index.size()).toBe(0);
    const { items, rng } = await filledIndex(0, 8);
    const batch = Array.from({ length: 1500 }, (_, i) => ({
      id: `img/${i}.png`,
      vector: randomVector(rng, 24),
    }));
    await index.upsert(batch);
    for (const b of batch) items.set(b.id, b.vector);
    await index.remove(['img/3.png']);
    items.delete('img/3.png');
    await index.flush();

    const reopened = await ExactIndex.open(path, structuredClone(header));
    expect(await reopened.size()).toBe(1499);
    for (let t = 0; t < 5; t++) {
      const query = randomVector(rng, 24);
      const a = await index.search(query, 12, { exclude: new Set(['img/5.png']) });
      const b = await reopened.search(query, 12, { exclude: new Set(['img/5.png']) });
      expect(b).toEqual(a);
      expectSameHits(b, bruteForce(items, query, 12, new Set(['img/5.png'])));
    }
    const fetched = await reopened.fetch(['img/10.png']);
    expect(fetched.get('img/10.png')).toEqual((await index.fetch(['img/10.png'])).get('img/10.png'));
    // no temporary files are left behind
    expect(await readdir(join(dir, 'sub'))).toEqual(['round-trip.idx']);
  });

  it('unflushed changes are not on disk; a second flush persists them', async () => {
    const path = join(dir, 'pending.idx');
    const index = await ExactIndex.open(path, header);
    await index.upsert([{ id: 'x', vector: new Float32Array(24).fill(1) }]);
    expect(await (await ExactIndex.open(path, header)).size()).toBe(0);
    await index.flush();
    expect(await (await ExactIndex.open(path, header)).size()).toBe(1);
  });

  it('refuses to open an index built with a different encoder, dimension or preprocessing', async () => {
    const path = join(dir, 'x');
    const index = await ExactIndex.open(path, { ...header, encoderId: 'A', dim: 256 });
    await index.upsert([{ id: 'a', vector: new Float32Array(256).fill(1) }]);
    await index.flush();

    const other = { ...header, encoderId: 'B', dim: 512 };
    const err = await ExactIndex.open(path, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexMismatchError);
    expect((err as Error).message).toBe(
      `index ${path} was built with encoder "A" (dim 256); the configured encoder is "B" (dim 512). ` +
        'Re-index the gallery (genir index --reindex, or genir demo-gallery --rebuild).',
    );

    const samePre = { ...header, encoderId: 'A', dim: 256 };
    const crop = {
      ...samePre,
      preprocessing: { ...samePre.preprocessing, resize: 'shortest-crop' as const },
    };
    await expect(ExactIndex.open(path, crop)).rejects.toThrow(
      /preprocessing 64px stretch.*64px shortest-crop/,
    );
    await expect(ExactIndex.open(path, samePre)).resolves.toBeInstanceOf(ExactIndex);
  });

  it('reports a corrupt file clearly', async () => {
    const path = join(dir, 'corrupt.idx');
    await writeFile(path, 'definitely not an index');
    await expect(ExactIndex.open(path, header)).rejects.toThrow(/corrupt or not an exact index/);
  });
});
