import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxImageEncoder } from '../../adapters/encode/onnx/index.ts';
import { GALLERIES_DIR, galleryPaths, shardGalleryName } from '../../adapters/store/indexed-gallery.ts';
import { SqliteDatabase, SqliteGallery } from '../../adapters/store/sqlite/index.ts';
import { type IndexSettings, openGalleryIndex } from '../../bots/vector-index.ts';
import { createRng } from '../../core/random.ts';
import {
  type IndexRunOptions,
  indexGallery,
  inShard,
  mergeShards,
  parseShard,
  shardOf,
  type TensorEncoder,
} from '../../scripts/index-gallery/index.ts';
import { collectSources } from '../../scripts/index-gallery/sources.ts';
import { FAKE_API_KEY, FakePinecone } from '../fakes/pinecone/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const IMAGES = 24;
let tmp: string;
let folder: string;
let encoder: OnnxImageEncoder;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'genir-shard-'));
  folder = join(tmp, 'photos');
  const rng = createRng(17);
  for (let i = 0; i < IMAGES; i++) {
    const raw = Buffer.alloc(24 * 24 * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = Math.floor(rng() * 256);
    await mkdir(join(folder, `day-${i % 3}`), { recursive: true });
    await sharp(raw, { raw: { width: 24, height: 24, channels: 3 } })
      .png()
      .toFile(join(folder, `day-${i % 3}`, `shot-${i}.png`));
  }
  // Same content under other names: one asset, wherever its files' shards are.
  for (let i = 0; i < 4; i++)
    await copyFile(join(folder, 'day-0', 'shot-0.png'), join(folder, `copy-${i}.png`));
  encoder = await OnnxImageEncoder.load({
    modelPath: join(ROOT, 'models', 'tiny-encoder.onnx'),
    intraOpThreads: 1,
  });
}, 60_000);

afterAll(async () => {
  await encoder?.close();
  await rm(tmp, { recursive: true, force: true });
});

let dataCount = 0;
const newDataDir = () => join(tmp, `data-${dataCount++}`);

const runShard = (
  dataDir: string,
  index: number,
  count: number,
  settings: IndexSettings,
  extra: Partial<IndexRunOptions> = {},
) =>
  indexGallery({
    sources: [folder],
    dir: join(dataDir, GALLERIES_DIR, shardGalleryName('photos', index, count)),
    name: 'photos',
    encoder,
    index: settings,
    batch: 4,
    shard: { index, count },
    ...extra,
  });

/** Ids, asset records, file rows and vectors of a gallery folder. */
async function readBack(dir: string, settings: IndexSettings) {
  const db = SqliteDatabase.open(galleryPaths(dir).db, { readonly: true });
  try {
    const assets = await new SqliteGallery(db).all();
    const files = db.connection
      .prepare<[], { source: string; assetId: string; hash: string }>(
        'SELECT source, asset_id AS assetId, hash FROM index_files ORDER BY source',
      )
      .all();
    const index = await openGalleryIndex(galleryPaths(dir), encoderHeader(), settings, {
      readOnly: true,
      galleryName: 'photos',
    });
    const ids = assets.map((a) => a.id);
    const vectors = await index.fetch(ids);
    const queries = [...vectors.values()].slice(0, 5);
    const searches = await Promise.all(queries.map((q) => index.search(q, 5)));
    await index.close?.();
    return {
      ids,
      assets: assets.map(({ id, source, title, width, height, hash }) => ({
        id,
        source,
        title,
        width,
        height,
        hash,
      })),
      files,
      vectors,
      searches,
    };
  } finally {
    db.close();
  }
}

const encoderHeader = () => ({
  encoderId: encoder.id,
  dim: encoder.dim,
  preprocessing: encoder.preprocessing,
});

describe('shard assignment', () => {
  it('is deterministic and puts every path or URL in exactly one shard', () => {
    const sources = Array.from({ length: 3000 }, (_, i) =>
      i % 2 ? `/mnt/photos/${i % 7}/img-${i}.jpg` : `https://cdn.example/${i}.png`,
    );
    for (const count of [1, 2, 3, 7]) {
      const members = Array.from({ length: count }, (_, i) => inShard({ index: i + 1, count }));
      const sizes = new Array(count).fill(0);
      for (const s of sources) {
        const owners = members.map((m, i) => (m(s) ? i : -1)).filter((i) => i >= 0);
        expect(owners).toHaveLength(1);
        expect(shardOf(s, count)).toBe((owners[0] as number) + 1);
        expect(shardOf(s, count)).toBe(shardOf(`${s}`, count));
        sizes[owners[0] as number]++;
      }
      // A hash spreads them: no shard gets less than half its fair share.
      for (const n of sizes) expect(n).toBeGreaterThan(sources.length / count / 2);
    }
  });

  it('parses i/n and refuses anything else', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', '3', '1/0', 'a/b', '-1/2'])
      expect(() => parseShard(bad)).toThrow(/i\/n/);
  });

  it('collects a disjoint share per shard without touching the other shards\u2019 files', async () => {
    const all = (await collectSources([folder])).candidates.map((c) => c.source).sort();
    const shares = await Promise.all(
      [1, 2, 3].map(
        async (i) => (await collectSources([folder], tmp, inShard({ index: i, count: 3 }))).candidates,
      ),
    );
    expect(
      shares
        .flat()
        .map((c) => c.source)
        .sort(),
    ).toEqual(all);
    for (const share of shares) expect(share.length).toBeGreaterThan(0);
    // A list naming files that do not exist: each shard reports only its own as missing (it never
    // stat'ed the others).
    const list = join(tmp, 'list.txt');
    const named = Array.from({ length: 30 }, (_, i) => join(tmp, 'gone', `x-${i}.png`));
    await writeFile(list, named.join('\n'));
    const missing = await Promise.all(
      [1, 2, 3].map(
        async (i) => (await collectSources([list], tmp, inShard({ index: i, count: 3 }))).candidates,
      ),
    );
    expect(
      missing
        .flat()
        .map((c) => c.source)
        .sort(),
    ).toEqual([...named].sort());
    for (const [i, share] of missing.entries()) {
      for (const c of share) expect(shardOf(c.source, 3)).toBe(i + 1);
    }
  });
});

describe.each<IndexSettings>([{ kind: 'usearch' }, { kind: 'exact' }])(
  '3 shards + merge ($kind)',
  (settings) => {
    it('give the ids, assets, files, vectors and search results of one unsharded run', async () => {
      const dataDir = newDataDir();
      const whole = join(dataDir, GALLERIES_DIR, 'whole');
      const one = await indexGallery({
        sources: [folder],
        dir: whole,
        name: 'whole',
        encoder,
        index: settings,
        batch: 4,
      });
      expect(one.assets).toBe(IMAGES);
      let found = 0;
      for (const i of [1, 2, 3]) {
        const s = await runShard(dataDir, i, 3, settings);
        expect(s.shard).toBe(`${i}/3`);
        expect(s.bad).toEqual([]);
        found += s.found;
      }
      expect(found).toBe(one.found);

      const merged = await mergeShards({ dataDir, name: 'photos', shards: 3, settings: () => settings });
      expect(merged).toMatchObject({
        gallery: 'photos',
        index: settings.kind,
        assets: IMAGES,
        vectors: IMAGES,
      });

      const a = await readBack(whole, settings);
      const b = await readBack(join(dataDir, GALLERIES_DIR, 'photos'), settings);
      expect(b.ids).toEqual(a.ids);
      expect(b.files).toEqual(a.files);
      // The asset behind several files is shown from one of them; everything else is identical.
      const shown = (x: typeof a) => x.assets.map(({ source: _s, title: _t, ...rest }) => rest);
      expect(shown(b)).toEqual(shown(a));
      for (const [id, v] of a.vectors) {
        const w = b.vectors.get(id) as Float32Array;
        expect(w).toBeDefined();
        for (let j = 0; j < v.length; j++) expect(w[j]).toBeCloseTo(v[j] as number, 3);
      }
      expect(b.searches.map((hits) => hits.map((h) => h.id))).toEqual(
        a.searches.map((hits) => hits.map((h) => h.id)),
      );

      // Merging again (e.g. after a shard picked up new files) replaces the previous merge.
      await runShard(dataDir, 2, 3, settings);
      const again = await mergeShards({ dataDir, name: 'photos', shards: 3, settings: () => settings });
      expect(again.assets).toBe(IMAGES);
    });
  },
);

describe('resuming a shard', () => {
  it('a re-run skips what the shard did; an interrupted shard is refused by merge until it finishes', async () => {
    const dataDir = newDataDir();
    const settings: IndexSettings = { kind: 'usearch' };
    for (const i of [1, 3]) await runShard(dataDir, i, 3, settings);
    const controller = new AbortController();
    await expect(
      runShard(dataDir, 2, 3, settings, {
        batch: 2,
        signal: controller.signal,
        onBatch: () => controller.abort(),
      }),
    ).rejects.toThrow();
    await expect(
      mergeShards({ dataDir, name: 'photos', shards: 3, settings: () => settings }),
    ).rejects.toThrow(/shard 2\/3 of gallery "photos" did not finish its last run/);
    const resumed = await runShard(dataDir, 2, 3, settings);
    expect(resumed.unchanged).toBeGreaterThan(0);
    expect(resumed.indexed + resumed.unchanged + resumed.duplicates).toBe(resumed.found);
    const again = await runShard(dataDir, 2, 3, settings);
    expect(again).toMatchObject({ indexed: 0, unchanged: resumed.found });
    const merged = await mergeShards({ dataDir, name: 'photos', shards: 3, settings: () => settings });
    expect(merged.assets).toBe(IMAGES);
  });
});

describe('merge refusals', () => {
  it('refuses a missing shard, another encoder, another index kind and a gallery it did not make', async () => {
    const dataDir = newDataDir();
    const usearch: IndexSettings = { kind: 'usearch' };
    const merge = () => mergeShards({ dataDir, name: 'photos', shards: 3, settings: () => usearch });
    for (const i of [1, 2]) await runShard(dataDir, i, 3, usearch);
    await expect(merge()).rejects.toThrow(/shard 3\/3 of gallery "photos" is missing .*--shard 3\/3/);

    // Same model under another id: another embedding space as far as the index knows.
    const other: TensorEncoder = {
      id: 'tiny-other',
      dim: encoder.dim,
      preprocessing: encoder.preprocessing,
      embedTensor: (t, n) => encoder.embedTensor(t, n),
    };
    await runShard(dataDir, 3, 3, usearch, { encoder: other });
    await expect(merge()).rejects.toThrow(/shard 3\/3 and shard 1\/3 were encoded differently: "tiny-other"/);

    await runShard(dataDir, 3, 3, { kind: 'exact' });
    await expect(merge()).rejects.toThrow(
      /shard 3\/3 and shard 1\/3 were indexed into different kinds of index \(exact, usearch\)/,
    );

    await runShard(dataDir, 3, 3, usearch);
    await indexGallery({
      sources: [folder],
      dir: join(dataDir, GALLERIES_DIR, 'photos'),
      name: 'photos',
      encoder,
      index: usearch,
    });
    await expect(merge()).rejects.toThrow(/already exists and was not made by genir index merge/);
  });

  it('genir index merge on the command line says what is missing and exits 1', () => {
    const dataDir = newDataDir();
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'scripts', 'index-gallery', 'main.ts'),
        'index',
        'merge',
        'photos',
        '--shards',
        '2',
      ],
      { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, encoding: 'utf8' },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/shard 1\/2 of gallery "photos" is missing/);
  });
});

describe('sharded indexing into Pinecone (fake)', () => {
  let fake: FakePinecone;
  beforeAll(async () => {
    fake = await new FakePinecone().start();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('every shard writes into the gallery\u2019s namespace; merge joins the metadata and checks the vectors', async () => {
    const dataDir = newDataDir();
    const settings: IndexSettings = {
      kind: 'pinecone',
      pinecone: {
        apiKey: FAKE_API_KEY,
        indexName: 'shared',
        controllerHostUrl: fake.url,
        createIfMissing: true,
      },
    };
    for (const i of [1, 2]) await runShard(dataDir, i, 2, settings);
    expect(fake.records('shared', 'photos').size).toBe(IMAGES + 1); // + the header record
    await expect(runShard(dataDir, 1, 2, settings, { reindex: true })).rejects.toThrow(
      /would empty the Pinecone namespace every shard writes to/,
    );
    const merged = await mergeShards({ dataDir, name: 'photos', shards: 2, settings: () => settings });
    expect(merged).toMatchObject({ index: 'pinecone', assets: IMAGES });

    const lost = [...fake.records('shared', 'photos').keys()].find((id) => id.startsWith('img-')) as string;
    fake.records('shared', 'photos').delete(lost);
    await expect(
      mergeShards({ dataDir, name: 'photos', shards: 2, settings: () => settings }),
    ).rejects.toThrow(/1 of its \d+ images have no vector in the Pinecone namespace/);
  });
});
