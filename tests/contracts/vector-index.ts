/**
 * One behaviour suite for every VectorIndex (exact, usearch, Pinecone on the fake): the same tests,
 * run by each index's test file with a subject that knows how to open that index at a fresh
 * location and again at the same location (persistence, header checks).
 *
 * Ranking is compared with a float64 brute force over the vectors given. Indexes that store
 * vectors at lower precision (f16) declare a score tolerance: a hit's score must be within it of
 * the true cosine, and the returned set must be the true top K up to ties within it. Approximate
 * subjects (HNSW forced on) also declare the recall@K they must reach.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IndexMismatchError, REINDEX_HINT } from '../../adapters/index/header.ts';
import type { IndexHeader, SearchHit, VectorIndex } from '../../core/ports.ts';
import { createRng, type Rng } from '../../core/random.ts';
import { cosine } from '../support/vectors.ts';

export interface IndexLocation {
  /** Open the index stored at this location (created empty on first open). */
  open(header: IndexHeader): Promise<VectorIndex>;
}

export interface VectorIndexSubject {
  /** A new, empty storage location (a file path, a namespace…). */
  location(): Promise<IndexLocation>;
  /** Release an opened index (close files), if the implementation needs it. */
  release?(index: VectorIndex): Promise<void>;
  /** Largest allowed |returned score − true cosine| (default 1e-5). */
  scoreTolerance?: number;
  /** For approximate search: the recall@K every query must reach (default: exact, 1). */
  minRecall?: number;
  cleanup?(): Promise<void>;
}

export const contractHeader: IndexHeader = {
  encoderId: 'contract-enc',
  dim: 24,
  preprocessing: { size: 64, resize: 'stretch', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export function randomVector(rng: Rng, dim = contractHeader.dim): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = gaussian(rng);
  return v;
}

/** Every item scored against the query, best first (float64). */
export function bruteForce(
  items: ReadonlyMap<string, Float32Array>,
  query: Float32Array,
  exclude: ReadonlySet<string> = new Set(),
): SearchHit[] {
  const scored: SearchHit[] = [];
  for (const [id, v] of items) if (!exclude.has(id)) scored.push({ id, score: cosine(query, v) });
  return scored.sort((a, b) => b.score - a.score);
}

export function vectorIndexContract(name: string, subject: VectorIndexSubject): void {
  const tol = subject.scoreTolerance ?? 1e-5;
  const minRecall = subject.minRecall ?? 1;
  const opened: VectorIndex[] = [];

  const open = async (location: IndexLocation, header: IndexHeader = contractHeader) => {
    const index = await location.open(structuredClone(header));
    opened.push(index);
    return index;
  };

  const fresh = async () => open(await subject.location());

  /** Fill with n random vectors; returns the index, its contents and the rng. */
  const filled = async (n: number, seed: number, location?: IndexLocation) => {
    const loc = location ?? (await subject.location());
    const index = await open(loc);
    const rng = createRng(seed);
    const items = new Map<string, Float32Array>();
    const batch = Array.from({ length: n }, (_, i) => ({ id: `asset-${i}`, vector: randomVector(rng) }));
    for (const b of batch) items.set(b.id, b.vector);
    await index.upsert(batch);
    return { index, items, rng, location: loc };
  };

  /** Hits agree with brute force: sorted, right scores, the true top K up to near-ties, recall. */
  const expectRanking = (
    hits: SearchHit[],
    items: ReadonlyMap<string, Float32Array>,
    query: Float32Array,
    k: number,
    exclude: ReadonlySet<string> = new Set(),
  ) => {
    const truth = bruteForce(items, query, exclude);
    const want = Math.min(k, truth.length);
    const trueScore = new Map(truth.map((h) => [h.id, h.score]));
    expect(hits).toHaveLength(want);
    expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    for (const h of hits) {
      expect(exclude.has(h.id)).toBe(false);
      expect(trueScore.has(h.id)).toBe(true);
      expect(Math.abs(h.score - trueScore.get(h.id)!)).toBeLessThanOrEqual(tol);
    }
    const top = truth.slice(0, want);
    const returned = new Set(hits.map((h) => h.id));
    const recall = top.filter((h) => returned.has(h.id)).length / Math.max(1, want);
    expect(recall).toBeGreaterThanOrEqual(minRecall);
    if (minRecall === 1 && want > 0) {
      // Exact: anything clearly better than the worst hit must be among the hits.
      const worst = Math.min(...hits.map((h) => trueScore.get(h.id)!));
      for (const t of truth) if (t.score > worst + 2 * tol) expect(returned.has(t.id)).toBe(true);
    }
  };

  describe(`vector index contract: ${name}`, () => {
    afterAll(async () => {
      for (const index of opened) await subject.release?.(index);
      await subject.cleanup?.();
    });

    it('an empty index has size 0, finds nothing and fetches nothing', async () => {
      const index = await fresh();
      expect(await index.size()).toBe(0);
      expect(await index.search(randomVector(createRng(1)), 5)).toEqual([]);
      expect((await index.fetch(['nope'])).size).toBe(0);
      expect(index.header).toEqual(contractHeader);
    });

    it('search ranks like brute-force cosine, for several K', async () => {
      const { index, items, rng } = await filled(300, 2);
      expect(await index.size()).toBe(300);
      for (const k of [1, 5, 10, 40]) {
        for (let t = 0; t < 4; t++) {
          const query = randomVector(rng);
          expectRanking(await index.search(query, k), items, query, k);
        }
      }
    });

    it('a stored vector is its own best match with score 1, whatever the query length', async () => {
      const { index, items } = await filled(120, 3);
      const v = items.get('asset-42')!;
      const [top] = await index.search(
        v.map((x) => x * 7.5),
        1,
      );
      expect(top?.id).toBe('asset-42');
      expect(top?.score).toBeCloseTo(1, 2);
    });

    it('k larger than the index returns every vector; k = 0 returns none', async () => {
      const { index, items, rng } = await filled(12, 4);
      const query = randomVector(rng);
      expectRanking(await index.search(query, 100), items, query, 100);
      expect(await index.search(query, 0)).toEqual([]);
    });

    it('upsert of an existing id replaces its vector without growing the index', async () => {
      const { index, items, rng } = await filled(150, 5);
      const replacement = randomVector(rng);
      await index.upsert([{ id: 'asset-7', vector: replacement }]);
      items.set('asset-7', replacement);
      expect(await index.size()).toBe(150);
      const [top] = await index.search(replacement, 1);
      expect(top?.id).toBe('asset-7');
      expect(top?.score).toBeCloseTo(1, 2);
      const fetched = (await index.fetch(['asset-7'])).get('asset-7')!;
      expect(cosine(fetched, replacement)).toBeCloseTo(1, 3);
      const query = randomVector(rng);
      expectRanking(await index.search(query, 10), items, query, 10);
    });

    it('never returns excluded ids and fills K from the rest (small and large exclusion sets)', async () => {
      const { index, items, rng } = await filled(300, 6);
      for (const size of [3, 150]) {
        const query = randomVector(rng);
        const first = await index.search(query, size);
        const exclude = new Set(first.map((h) => h.id));
        exclude.add('not-in-index');
        const hits = await index.search(query, 15, { exclude });
        expectRanking(hits, items, query, 15, exclude);
      }
    });

    it('fetch returns unit vectors of present ids only, as copies', async () => {
      const { index, items } = await filled(30, 7);
      const fetched = await index.fetch(['asset-3', 'missing', 'asset-9']);
      expect([...fetched.keys()].sort()).toEqual(['asset-3', 'asset-9']);
      for (const [id, v] of fetched) {
        expect(v).toHaveLength(contractHeader.dim);
        let s = 0;
        for (const x of v) s += x * x;
        expect(Math.sqrt(s)).toBeCloseTo(1, 2);
        expect(cosine(v, items.get(id)!)).toBeCloseTo(1, 3);
      }
      fetched.get('asset-3')!.fill(0);
      const again = (await index.fetch(['asset-3'])).get('asset-3')!;
      expect(again.some((x) => x !== 0)).toBe(true);
    });

    it('remove drops ids (unknown ids are ignored); removed ids can come back', async () => {
      const { index, items, rng } = await filled(200, 8);
      const gone = ['asset-0', 'asset-199', 'asset-100', 'asset-101', 'nope'];
      await index.remove(gone);
      for (const id of gone) items.delete(id);
      expect(await index.size()).toBe(196);
      expect([...(await index.fetch(['asset-0', 'asset-1', 'asset-199'])).keys()]).toEqual(['asset-1']);
      for (let t = 0; t < 4; t++) {
        const query = randomVector(rng);
        const hits = await index.search(query, 20);
        for (const h of hits) expect(gone).not.toContain(h.id);
        expectRanking(hits, items, query, 20);
      }
      const back = randomVector(rng);
      await index.upsert([{ id: 'asset-0', vector: back }]);
      expect(await index.size()).toBe(197);
      expect((await index.search(back, 1))[0]?.id).toBe('asset-0');
    });

    it('rejects vectors and queries of the wrong dimension and zero vectors, changing nothing', async () => {
      const { index, rng } = await filled(10, 9);
      await expect(
        index.upsert([
          { id: 'ok', vector: randomVector(rng) },
          { id: 'bad', vector: new Float32Array(3).fill(1) },
        ]),
      ).rejects.toThrow(/3 dims/);
      await expect(
        index.upsert([{ id: 'zero', vector: new Float32Array(contractHeader.dim) }]),
      ).rejects.toThrow(/zero/);
      expect(await index.size()).toBe(10);
      expect((await index.fetch(['ok', 'bad', 'zero'])).size).toBe(0);
      await expect(index.search(new Float32Array(5).fill(1), 3)).rejects.toThrow(/5 dims/);
    });

    it('what was flushed is there after reopening, with the same results', async () => {
      const { index, items, rng, location } = await filled(250, 10);
      await index.remove(['asset-3']);
      items.delete('asset-3');
      const replacement = randomVector(rng);
      await index.upsert([{ id: 'asset-4', vector: replacement }]);
      items.set('asset-4', replacement);
      await index.flush();
      await subject.release?.(index);

      const reopened = await open(location);
      expect(await reopened.size()).toBe(249);
      for (let t = 0; t < 4; t++) {
        const query = randomVector(rng);
        const exclude = new Set(['asset-5']);
        expectRanking(await reopened.search(query, 12, { exclude }), items, query, 12, exclude);
      }
      const fetched = (await reopened.fetch(['asset-4'])).get('asset-4')!;
      expect(cosine(fetched, replacement)).toBeCloseTo(1, 3);
    });

    it('refuses to open with another encoder, dimension or preprocessing', async () => {
      const { index, location } = await filled(5, 11);
      await index.flush();
      await subject.release?.(index);

      const other = await open(location, { ...contractHeader, encoderId: 'another-enc' }).catch(
        (e: unknown) => e,
      );
      expect(other).toBeInstanceOf(IndexMismatchError);
      expect((other as Error).message).toContain('"contract-enc"');
      expect((other as Error).message).toContain('"another-enc"');
      expect((other as Error).message).toContain(REINDEX_HINT);

      const crop = {
        ...contractHeader,
        preprocessing: { ...contractHeader.preprocessing, resize: 'shortest-crop' as const },
      };
      const pre = await open(location, crop).catch((e: unknown) => e);
      expect(pre).toBeInstanceOf(IndexMismatchError);
      expect((pre as Error).message).toMatch(/64px stretch.*64px shortest-crop/);

      const dim = await open(location, { ...contractHeader, dim: 32 }).catch((e: unknown) => e);
      expect(dim).toBeInstanceOf(Error);
      expect((dim as Error).message).toMatch(/\b24\b[\s\S]*\b32\b|\b32\b[\s\S]*\b24\b/);

      const same = await open(location);
      expect(await same.size()).toBe(5);
    });
  });
}
