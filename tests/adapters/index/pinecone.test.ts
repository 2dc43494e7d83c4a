import Bottleneck from 'bottleneck';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexMismatchError } from '../../../adapters/index/header.ts';
import {
  boundedMetadata,
  createRetryingFetch,
  HEADER_RECORD_ID,
  MAX_METADATA_BYTES,
  PineconeIndex,
  type PineconeIndexOptions,
  parseRetryAfter,
  type RetryInfo,
} from '../../../adapters/index/pinecone/index.ts';
import type { IndexHeader } from '../../../core/ports.ts';
import { createRng } from '../../../core/random.ts';
import { contractHeader, randomVector, vectorIndexContract } from '../../contracts/vector-index.ts';
import { FAKE_API_KEY, FakePinecone } from '../../fakes/pinecone/server.ts';

let fake: FakePinecone;
let nsCounter = 0;
const noSleep = async () => {};

beforeAll(async () => {
  fake = await new FakePinecone().start();
  fake.addIndex('contract', contractHeader.dim);
});
afterAll(async () => {
  await fake.close();
});

const base = (overrides: Partial<PineconeIndexOptions> = {}): PineconeIndexOptions => ({
  apiKey: FAKE_API_KEY,
  indexName: 'contract',
  controllerHostUrl: fake.url,
  sleep: noSleep,
  ...overrides,
});

// The real client against the fake; a small $nin limit so the contract's large exclusion set
// takes the over-fetch path and the small one the filter path.
vectorIndexContract('pinecone (fake server)', {
  async location() {
    const namespace = `contract-${nsCounter++}`;
    return { open: (header) => PineconeIndex.open(header, base({ namespace, filterExcludeMax: 20 })) };
  },
  scoreTolerance: 1e-6,
});

const header512: IndexHeader = { ...contractHeader, encoderId: 'clip-test', dim: 512 };

function vectors(n: number, seed: number, dim: number) {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => ({ id: `img-${i}`, vector: randomVector(rng, dim) }));
}

describe('PineconeIndex: control plane', () => {
  it('creates the serverless cosine index with the encoder dimension when asked', async () => {
    const index = await PineconeIndex.open(
      header512,
      base({ indexName: 'created-here', createIfMissing: true, cloud: 'gcp', region: 'europe-west4' }),
    );
    const created = fake.indexes.get('created-here')!;
    expect(created.dimension).toBe(512);
    expect(created.metric).toBe('cosine');
    expect(created.spec).toEqual({ serverless: { cloud: 'gcp', region: 'europe-west4' } });
    expect(created.tags).toEqual({ app: 'genir', encoder: 'clip-test' });
    expect(index.host).toBe(fake.hostOf('created-here'));
    expect(await index.size()).toBe(0);
  });

  it('says how to create a missing index when not asked to', async () => {
    await expect(PineconeIndex.open(header512, base({ indexName: 'absent' }))).rejects.toThrow(
      'Pinecone index "absent" does not exist. Create it (dimension 512, cosine) or set PINECONE_CREATE_INDEX=true.',
    );
    expect(fake.indexes.has('absent')).toBe(false);
  });

  it('refuses an index of another dimension or metric', async () => {
    fake.addIndex('small', 64);
    await expect(PineconeIndex.open(header512, base({ indexName: 'small' }))).rejects.toThrow(
      /has dimension 64; the encoder "clip-test" produces 512/,
    );
    fake.addIndex('euclid', 512, 'euclidean');
    await expect(PineconeIndex.open(header512, base({ indexName: 'euclid' }))).rejects.toThrow(
      /euclidean.*cosine/,
    );
  });

  it('uses a given host without asking the control plane', async () => {
    fake.addIndex('direct', 512);
    const before = fake.requestsTo('describe').length;
    const index = await PineconeIndex.open(
      header512,
      base({ indexName: 'direct', host: fake.hostOf('direct') }),
    );
    await index.upsert(vectors(3, 1, 512));
    expect(fake.requestsTo('describe').length).toBe(before);
    expect(await index.size()).toBe(3);
  });
});

describe('PineconeIndex: data plane', () => {
  it('upserts in requests of at most 1,000 vectors and 2 MB, with bounded metadata', async () => {
    fake.addIndex('bulk', 512);
    const index = await PineconeIndex.open(header512, base({ indexName: 'bulk', namespace: 'bulk' }));
    const before = fake.requestsTo('upsert').length;
    const items = vectors(2500, 2, 512).map((v, i) => ({
      ...v,
      metadata: { path: `/galleries/team/${'deep/'.repeat(i % 40)}${v.id}.png`, title: `Image ${i}` },
    }));
    await index.upsert(items);
    const upserts = fake.requestsTo('upsert').slice(before);
    const dataRequests = upserts.filter((r) => (r.vectors ?? 0) > 1); // not the header record
    expect(dataRequests.length).toBeGreaterThan(2);
    for (const r of upserts) {
      expect(r.status).toBe(200);
      expect(r.vectors).toBeLessThanOrEqual(1000);
      expect(r.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    }
    expect(dataRequests.reduce((s, r) => s + (r.vectors ?? 0), 0)).toBe(2500);
    expect(await index.size()).toBe(2500);
    const meta = await index.fetchMetadata(['img-41']);
    expect(meta.get('img-41')).toEqual({
      asset_id: 'img-41',
      path: `/galleries/team/deep/img-41.png`,
      title: 'Image 41',
    });
  });

  it('cuts path and title so a record stays under 40 KB of metadata', async () => {
    const huge = boundedMetadata('a', { path: `/x/${'p'.repeat(100_000)}`, title: '題'.repeat(30_000) });
    expect(Buffer.byteLength(JSON.stringify(huge))).toBeLessThanOrEqual(MAX_METADATA_BYTES);
    expect(String(huge.path).endsWith('…')).toBe(true);
    expect(String(huge.title).endsWith('…')).toBe(true);
    expect(String(huge.path).startsWith('/x/ppp')).toBe(true);

    fake.addIndex('meta', 8);
    const index = await PineconeIndex.open({ ...contractHeader, dim: 8 }, base({ indexName: 'meta' }));
    await index.upsert([
      { id: 'big', vector: randomVector(createRng(3), 8), metadata: { path: 'q'.repeat(50_000) } },
    ]);
    expect(await index.size()).toBe(1);
  });

  it('uses a $nin filter for small exclusion sets and over-fetches for large ones', async () => {
    fake.addIndex('excl', 8);
    const h = { ...contractHeader, dim: 8 };
    const index = await PineconeIndex.open(h, base({ indexName: 'excl', filterExcludeMax: 5 }));
    await index.upsert(vectors(60, 4, 8));
    const q = randomVector(createRng(40), 8);

    const small = new Set(['img-1', 'img-2']);
    const a = await index.search(q, 10, { exclude: small });
    const qa = fake.requestsTo('query').at(-1)!;
    expect(qa.filter).toEqual({ asset_id: { $nin: ['img-1', 'img-2'] } });
    expect(qa.topK).toBe(11);
    expect(a).toHaveLength(10);

    const large = new Set(Array.from({ length: 30 }, (_, i) => `img-${i}`));
    const b = await index.search(q, 10, { exclude: large });
    const qb = fake.requestsTo('query').at(-1)!;
    expect(qb.filter).toBeUndefined();
    expect(qb.topK).toBe(41);
    expect(b).toHaveLength(10);
    for (const hit of b) expect(large.has(hit.id)).toBe(false);
  });

  it('never shows the header record, even to a query that points at it', async () => {
    fake.addIndex('hdr', 8);
    const h = { ...contractHeader, dim: 8 };
    const index = await PineconeIndex.open(h, base({ indexName: 'hdr' }));
    await index.upsert(vectors(4, 5, 8));
    const e0 = new Float32Array(8);
    e0[0] = 1;
    const hits = await index.search(e0, 10);
    expect(hits.map((x) => x.id).sort()).toEqual(['img-0', 'img-1', 'img-2', 'img-3']);
    expect(await index.size()).toBe(4);
    expect((await index.fetch([HEADER_RECORD_ID])).size).toBe(0);
    await index.remove([HEADER_RECORD_ID]);
    expect(fake.records('hdr', 'genir').has(HEADER_RECORD_ID)).toBe(true);
    await expect(index.upsert([{ id: HEADER_RECORD_ID, vector: e0 }])).rejects.toThrow(/reserved/);
  });

  it('refuses a namespace holding vectors it did not write; reset() re-indexes it', async () => {
    const foreign = fake.addIndex('foreign', 8);
    foreign.namespaces.set('genir', new Map([['x', { values: [1, 0, 0, 0, 0, 0, 0, 0] }]]));
    const h = { ...contractHeader, dim: 8 };
    await expect(PineconeIndex.open(h, base({ indexName: 'foreign' }))).rejects.toThrow(
      /holds 1 vectors that genir did not write/,
    );
    const other = await PineconeIndex.open(h, base({ indexName: 'foreign', namespace: 'fresh' }));
    await other.upsert(vectors(2, 6, 8));
    await expect(
      PineconeIndex.open({ ...h, encoderId: 'other' }, base({ indexName: 'foreign', namespace: 'fresh' })),
    ).rejects.toBeInstanceOf(IndexMismatchError);
    // --reindex: wipe the namespace under the new encoder.
    const wiped = await PineconeIndex.open(h, base({ indexName: 'foreign', namespace: 'fresh' }));
    await wiped.reset();
    expect(await wiped.size()).toBe(0);
    expect(fake.records('foreign', 'fresh').has(HEADER_RECORD_ID)).toBe(true);
  });

  it('deletes in requests of at most 1,000 ids', async () => {
    fake.addIndex('prune', 8);
    const index = await PineconeIndex.open({ ...contractHeader, dim: 8 }, base({ indexName: 'prune' }));
    await index.upsert(vectors(2100, 7, 8));
    const before = fake.requestsTo('delete').length;
    await index.remove(Array.from({ length: 2100 }, (_, i) => `img-${i}`));
    expect(fake.requestsTo('delete').length - before).toBe(3);
    expect(await index.size()).toBe(0);
  });
});

describe('PineconeIndex: rate limits and failures', () => {
  const h8 = { ...contractHeader, dim: 8 };

  it('retries 429 (waiting at least Retry-After) and 5xx, then succeeds', async () => {
    fake.addIndex('retry', 8);
    const retries: RetryInfo[] = [];
    const index = await PineconeIndex.open(h8, base({ indexName: 'retry', onRetry: (r) => retries.push(r) }));
    await index.upsert(vectors(5, 8, 8));
    fake.fail({ route: 'query', status: 429, retryAfter: '2' });
    fake.fail({ route: 'query', status: 503 });
    fake.fail({ route: 'upsert', status: 500 });
    const hits = await index.search(randomVector(createRng(1), 8), 3);
    expect(hits).toHaveLength(3);
    await index.upsert(vectors(6, 8, 8).slice(5));
    expect(await index.size()).toBe(6);
    expect(retries.map((r) => r.reason)).toEqual(['HTTP 429', 'HTTP 503', 'HTTP 500']);
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(2000);
  });

  it('times out a stalled request and retries it', async () => {
    fake.addIndex('stall', 8);
    const retries: RetryInfo[] = [];
    const index = await PineconeIndex.open(
      h8,
      base({ indexName: 'stall', timeoutMs: 300, onRetry: (r) => retries.push(r) }),
    );
    await index.upsert(vectors(3, 9, 8));
    fake.fail({ route: 'query', status: 'stall' });
    expect(await index.search(randomVector(createRng(2), 8), 2)).toHaveLength(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.reason).toMatch(/no response within 300 ms/);
  });

  it('gives up after the bounded retries with the service error', async () => {
    fake.addIndex('down', 8);
    const index = await PineconeIndex.open(h8, base({ indexName: 'down', maxRetries: 2 }));
    const before = fake.requestsTo('query').length;
    fake.fail({ route: 'query', status: 500, times: 3 });
    await expect(index.search(randomVector(createRng(3), 8), 2)).rejects.toThrow(
      'Pinecone query failed: HTTP 500 after 3 attempts',
    );
    expect(fake.requestsTo('query').length - before).toBe(3);
    // The service is back: the next search works.
    expect(await index.search(randomVector(createRng(3), 8), 2)).toEqual([]);
  });

  it('does not retry other client errors', async () => {
    const retries: RetryInfo[] = [];
    const index = await PineconeIndex.open(h8, base({ indexName: 'down', onRetry: (r) => retries.push(r) }));
    const wrongKey = await PineconeIndex.open(h8, base({ indexName: 'down', apiKey: 'nope' })).catch(
      (e: unknown) => e,
    );
    expect(wrongKey).toBeInstanceOf(Error);
    expect(retries).toHaveLength(0);
    expect(await index.size()).toBe(0);
  });

  it('sends every request through the limiter', async () => {
    fake.addIndex('limited', 8);
    const limiter = new Bottleneck({ maxConcurrent: 1 });
    const index = await PineconeIndex.open(h8, base({ indexName: 'limited', limiter }));
    await index.upsert(vectors(20, 10, 8));
    fake.maxInFlight = 0;
    let scheduled = 0;
    limiter.on('scheduled', () => {
      scheduled++;
    });
    const rng = createRng(4);
    await Promise.all(Array.from({ length: 8 }, () => index.search(randomVector(rng, 8), 3)));
    expect(scheduled).toBe(8);
    expect(fake.maxInFlight).toBe(1);
  });

  it('parses Retry-After as seconds or a date, and spreads backoff with jitter', async () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(5000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();

    const delays: number[] = [];
    let calls = 0;
    const flaky = (async () => {
      calls++;
      return new Response('{}', { status: calls < 4 ? 502 : 200 });
    }) as typeof fetch;
    const randoms = [0.5, 0.25, 1 - 1e-9];
    const f = createRetryingFetch({
      fetch: flaky,
      baseDelayMs: 100,
      maxRetries: 5,
      random: () => randoms.shift() ?? 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    expect((await f('http://127.0.0.1:9/x')).status).toBe(200);
    expect(calls).toBe(4);
    // full jitter: random × min(cap, base × 2^attempt)
    expect(delays[0]).toBeCloseTo(50, 6);
    expect(delays[1]).toBeCloseTo(50, 6);
    expect(delays[2]).toBeCloseTo(400, 3);
  });
});
