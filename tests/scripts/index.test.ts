import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeChw } from '../../adapters/encode/onnx/index.ts';
import { IndexMismatchError } from '../../adapters/index/header.ts';
import { galleryNameFor, galleryPaths } from '../../adapters/store/indexed-gallery.ts';
import { SqliteDatabase, SqliteGallery } from '../../adapters/store/sqlite/index.ts';
import { loadConfig } from '../../bots/config.ts';
import { type IndexSettings, openGalleryIndex, openIndexedGallery } from '../../bots/vector-index.ts';
import type { Preprocessing } from '../../core/ports.ts';
import { createRng } from '../../core/random.ts';
import { decodeForIndex } from '../../scripts/index-gallery/decode.ts';
import { type IndexRunOptions, indexGallery, type TensorEncoder } from '../../scripts/index-gallery/index.ts';
import { FAKE_API_KEY, FakePinecone } from '../fakes/pinecone/server.ts';

/** A deterministic stand-in encoder: the preprocessed 8×8 pixels plus a constant. */
class PixelEncoder implements TensorEncoder {
  readonly dim = 3 * 8 * 8 + 1;
  readonly preprocessing: Preprocessing = {
    size: 8,
    resize: 'stretch',
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  };
  calls = 0;
  images = 0;
  constructor(readonly id = 'pixels-v1') {}
  async embedTensor(tensor: Float32Array, n: number): Promise<Float32Array[]> {
    this.calls++;
    this.images += n;
    const per = 3 * 8 * 8;
    return Array.from({ length: n }, (_, i) => {
      const v = new Float32Array(this.dim);
      v.set(tensor.subarray(i * per, (i + 1) * per));
      v[per] = 1;
      return v;
    });
  }
  async embedBytes(bytes: Buffer): Promise<Float32Array> {
    const image = await decodeForIndex(bytes, this.preprocessing, 40_000_000);
    const t = new Float32Array(3 * 8 * 8);
    writeChw(image.pixels, this.preprocessing, t);
    return (await this.embedTensor(t, 1))[0] as Float32Array;
  }
}

async function noiseImage(
  seed: number,
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif' = 'png',
  size = 24,
) {
  const rng = createRng(seed);
  const raw = Buffer.alloc(size * size * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rng() * 256);
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

/** A real PNG whose header claims 30000×30000 pixels (900 MP): a decompression bomb. */
async function bombPng(): Promise<Buffer> {
  const png = Buffer.from(await noiseImage(99, 'png', 4));
  png.writeUInt32BE(30_000, 16);
  png.writeUInt32BE(30_000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

function bmp(): Buffer {
  const width = 2;
  const height = 2;
  const row = 8; // 2 px × 3 bytes, padded to 4
  const out = Buffer.alloc(54 + row * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  return out;
}

let tmp: string;
let galleryCount = 0;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'genir-index-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The test folder: 7 distinct images, 2 duplicates, ignored files, 7 bad files. */
async function makeFolder(): Promise<{ root: string; images: Map<string, Buffer> }> {
  const root = join(tmp, `photos-${galleryCount++}`);
  const outside = join(tmp, `outside-${galleryCount}`);
  await mkdir(join(root, 'nested', 'deeper'), { recursive: true });
  await mkdir(join(root, '.hidden'), { recursive: true });
  await mkdir(join(root, 'bad'), { recursive: true });
  await mkdir(outside, { recursive: true });
  const images = new Map<string, Buffer>();
  const put = async (rel: string, bytes: Buffer) => {
    await writeFile(join(root, rel), bytes);
    images.set(rel, bytes);
  };
  await put('a.png', await noiseImage(1));
  await put('B.PNG', await noiseImage(2));
  await put('nested/deeper/c.JpG', await noiseImage(3, 'jpeg'));
  await put('nested/d.webp', await noiseImage(4, 'webp'));
  await put('e.gif', await noiseImage(5, 'gif'));
  await put('f.tiff', await noiseImage(6, 'tiff'));
  await put('g.avif', await noiseImage(7, 'avif'));
  await writeFile(join(root, 'nested', 'copy-of-a.png'), images.get('a.png') as Buffer);
  await symlink(join(root, 'a.png'), join(root, 'link-to-a.png'));
  await writeFile(join(outside, 'x.png'), await noiseImage(8));
  await symlink(outside, join(root, 'link-outside'));
  await writeFile(join(root, 'notes.txt'), 'not indexed');
  await writeFile(join(root, '.dot.png'), await noiseImage(9));
  await writeFile(join(root, '.hidden', 'h.png'), await noiseImage(10));
  const jpeg = await noiseImage(11, 'jpeg', 64);
  await writeFile(join(root, 'bad', 'empty.png'), Buffer.alloc(0));
  await writeFile(join(root, 'bad', 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(join(root, 'bad', 'text.jpg'), 'this is a text file, not a picture');
  await writeFile(join(root, 'bad', 'bomb.png'), await bombPng());
  await writeFile(join(root, 'bad', 'bitmap.png'), bmp());
  await writeFile(
    join(root, 'bad', 'vector.png'),
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
  );
  const png = await noiseImage(12, 'png', 64);
  await writeFile(
    join(root, 'bad', 'corrupt.png'),
    Buffer.concat([png.subarray(0, 40), Buffer.alloc(200, 7)]),
  );
  return { root, images };
}

function readGallery(dir: string) {
  const db = SqliteDatabase.open(galleryPaths(dir).db, { readonly: true });
  const gallery = new SqliteGallery(db);
  return {
    gallery,
    files: () =>
      db.connection.prepare('SELECT source, asset_id AS assetId FROM index_files ORDER BY source').all() as {
        source: string;
        assetId: string;
      }[],
    close: () => db.close(),
  };
}

const KINDS: IndexSettings[] = [{ kind: 'usearch' }, { kind: 'exact' }];

describe.each(KINDS)('genir index with the $kind index', (settings) => {
  const setup = async () => {
    const { root, images } = await makeFolder();
    const dir = join(tmp, 'data', `gallery-${galleryCount}`);
    const encoder = new PixelEncoder();
    const run = (extra: Partial<IndexRunOptions> = {}) =>
      indexGallery({ sources: [root], dir, name: 'photos', encoder, index: settings, batch: 4, ...extra });
    return { root, images, dir, encoder, run };
  };

  it('indexes nested folders once per content and lists every bad file with its reason', async () => {
    const { root, images, dir, encoder, run } = await setup();
    const summary = await run();
    expect(summary).toMatchObject({
      found: 16,
      indexed: 7,
      unchanged: 0,
      duplicates: 2,
      removed: 0,
      missing: 0,
    });
    expect(summary.assets).toBe(7);
    expect(summary.vectors).toBe(7);
    expect(encoder.images).toBe(7);
    const reasons = Object.fromEntries(summary.bad.map((b) => [b.source.slice(root.length + 1), b.reason]));
    expect(reasons).toEqual({
      'bad/bitmap.png': 'unsupported format (BMP)',
      'bad/bomb.png': '30000×30000 is more than 40 megapixels (decompression bomb guard)',
      'bad/corrupt.png': expect.stringMatching(
        /^truncated or corrupt image \((its header is damaged|its data cannot be decoded|the file ends early)\)$/,
      ),
      'bad/empty.png': 'empty file (0 bytes)',
      'bad/text.jpg': 'not an image',
      'bad/truncated.jpg': 'truncated or corrupt image (the file ends early)',
      'bad/vector.png': 'unsupported format (SVG)',
    });
    expect(summary.notes).toContain(
      `skipped symlink ${join(root, 'link-outside')}: it points outside ${root}`,
    );

    const g = readGallery(dir);
    const assets = await g.gallery.all();
    expect(assets.map((a) => a.title).sort()).toEqual(['B', 'a', 'c', 'd', 'e', 'f', 'g']);
    const a = assets.find((x) => x.title === 'a')!;
    expect(a).toMatchObject({
      source: join(root, 'a.png'),
      width: 24,
      height: 24,
      sizeBytes: images.get('a.png')!.length,
    });
    expect(a.id).toBe(`img-${a.hash!.slice(0, 24)}`);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof a.mtime).toBe('number');
    const files = g.files();
    expect(files.filter((f) => f.assetId === a.id).map((f) => f.source.slice(root.length + 1))).toEqual([
      'a.png',
      'link-to-a.png',
      'nested/copy-of-a.png',
    ]);
    g.close();

    // Searchable: an image's own vector finds it first.
    const paths = galleryPaths(dir);
    const index = await openGalleryIndex(
      paths,
      { encoderId: encoder.id, dim: encoder.dim, preprocessing: encoder.preprocessing },
      settings,
      {
        readOnly: true,
        galleryName: 'photos',
      },
    );
    for (const [rel, bytes] of images) {
      const [top] = await index.search(await encoder.embedBytes(bytes), 1);
      const asset = assets.find((x) => x.source === join(root, rel));
      expect(top?.id).toBe(asset?.id);
    }
    await index.close?.();
  });

  it('a second run skips unchanged files; edits, touches and moves do the least work', async () => {
    const { root, dir, encoder, run } = await setup();
    await run();
    const again = await run();
    expect(again).toMatchObject({ indexed: 0, unchanged: 9, duplicates: 0, removed: 0 });
    expect(encoder.images).toBe(7);

    // Touched (new mtime) but same bytes: hashed, not encoded.
    const later = new Date(Date.now() + 60_000);
    await utimes(join(root, 'B.PNG'), later, later);
    // Edited: new content replaces the old asset.
    const edited = await noiseImage(55, 'gif');
    await writeFile(join(root, 'e.gif'), edited);
    // Moved: same content under a new name keeps its vector.
    await rename(join(root, 'f.tiff'), join(root, 'nested', 'f-moved.tiff'));
    const third = await run();
    expect(third).toMatchObject({ indexed: 1, unchanged: 7, duplicates: 1, removed: 1, missing: 1 });
    expect(encoder.images).toBe(8);
    expect(third.notes).toContain('1 files indexed before were not found; run with --prune to remove them');
    expect(third.assets).toBe(7);
    expect(third.vectors).toBe(7);
    const g = readGallery(dir);
    const e = (await g.gallery.all()).filter((a) => a.title === 'e');
    expect(e).toHaveLength(1);
    expect(e[0]?.hash).toBe(createHash('sha256').update(edited).digest('hex'));
    g.close();
  });

  it('a file that was indexed and is now corrupt loses its old vector', async () => {
    const { root, run } = await setup();
    await run();
    const jpeg = await noiseImage(60, 'jpeg', 64);
    await writeFile(join(root, 'nested', 'deeper', 'c.JpG'), jpeg.subarray(0, 300));
    const again = await run();
    expect(again).toMatchObject({ indexed: 0, removed: 1, assets: 6, vectors: 6 });
    expect(again.bad.map((b) => b.source)).toContain(join(root, 'nested', 'deeper', 'c.JpG'));
  });

  it('--prune removes assets whose files are gone and re-points the ones with a copy left', async () => {
    const { root, dir, run } = await setup();
    await run();
    await rm(join(root, 'a.png')); // copies of a remain (nested/copy-of-a.png; the link is now broken)
    await rm(join(root, 'nested', 'd.webp')); // the only file of d
    const pruned = await run({ prune: true });
    expect(pruned).toMatchObject({ indexed: 0, removed: 1, missing: 0, assets: 6, vectors: 6 });
    const g = readGallery(dir);
    const assets = await g.gallery.all();
    expect(assets.map((a) => a.title).sort()).toEqual(['B', 'c', 'copy of a', 'e', 'f', 'g']);
    expect(assets.find((a) => a.title === 'copy of a')?.source).toBe(join(root, 'nested', 'copy-of-a.png'));
    expect(g.files().some((f) => f.source.endsWith('/a.png') || f.source.endsWith('d.webp'))).toBe(false);
    g.close();
  });

  it('resumes after an interrupted run: committed batches are not encoded again', async () => {
    const { dir, encoder, run } = await setup();
    const controller = new AbortController();
    await expect(
      run({
        signal: controller.signal,
        onBatch: (processed) => {
          if (processed >= 4) controller.abort(new Error('killed'));
        },
      }),
    ).rejects.toThrow('killed');
    const g = readGallery(dir);
    const committed = await g.gallery.count();
    g.close();
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(7);
    // The batch after the last commit (4 files) may have been encoded already: the model runs one ahead.
    const encodedBefore = encoder.images;
    expect(encodedBefore - committed).toBeLessThanOrEqual(4);

    const resumed = await run();
    expect(resumed.indexed).toBe(7 - committed);
    expect(resumed.assets).toBe(7);
    expect(resumed.vectors).toBe(7);
    expect(encoder.images - encodedBefore).toBe(7 - committed);
  });

  it('refuses a different encoder with a clear message; --reindex rebuilds with it', async () => {
    const { root, dir, run } = await setup();
    await run();
    const other = new PixelEncoder('pixels-v2');
    const err = await run({ encoder: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexMismatchError);
    expect((err as Error).message).toContain('"pixels-v1"');
    expect((err as Error).message).toContain('genir index --reindex');
    expect(other.images).toBe(0);

    const rebuilt = await indexGallery({
      sources: [root],
      dir,
      name: 'photos',
      encoder: other,
      index: settings,
      batch: 4,
      reindex: true,
    });
    expect(rebuilt).toMatchObject({ reindexed: true, indexed: 7, assets: 7, vectors: 7 });
    expect(other.images).toBe(7);
  });
});

describe('the bot opens an indexed gallery (GALLERY)', () => {
  it('by name or by the indexed folder, read-only, with clear errors otherwise', async () => {
    const { root, images } = await makeFolder();
    const dataDir = join(tmp, 'bot-data');
    const encoder = new PixelEncoder();
    const dir = join(dataDir, 'galleries', galleryNameFor(root));
    const summary = await indexGallery({
      sources: [root],
      dir,
      name: galleryNameFor(root),
      encoder,
      index: { kind: 'usearch' },
    });
    expect(summary.indexed).toBe(7);
    const header = { encoderId: encoder.id, dim: encoder.dim, preprocessing: encoder.preprocessing };
    const config = (env: Record<string, string>) =>
      loadConfig({ DATA_DIR: dataDir, ...env }, { dotenv: false });

    for (const gallery of [root, galleryNameFor(root)]) {
      const opened = await openIndexedGallery(config({ GALLERY: gallery, VECTOR_INDEX: 'usearch' }), header);
      expect(opened.dir).toBe(dir);
      expect(await opened.gallery.count()).toBe(7);
      expect(await opened.index.size()).toBe(7);
      const [top] = await opened.index.search(await encoder.embedBytes(images.get('B.PNG') as Buffer), 1);
      expect((await opened.gallery.get(top?.id ?? ''))?.title).toBe('B');
      await opened.close();
    }
    await expect(
      openIndexedGallery(config({ GALLERY: root, VECTOR_INDEX: 'exact' }), header),
    ).rejects.toThrow(
      /was indexed with VECTOR_INDEX=usearch; set VECTOR_INDEX=usearch or run genir index again/,
    );
    await expect(
      openIndexedGallery(config({ GALLERY: join(tmp, 'never-indexed'), VECTOR_INDEX: 'usearch' }), header),
    ).rejects.toThrow(/has not been indexed yet .* run: genir index/);
    await expect(
      openIndexedGallery(config({ GALLERY: root, VECTOR_INDEX: 'usearch' }), {
        ...header,
        encoderId: 'other',
      }),
    ).rejects.toBeInstanceOf(IndexMismatchError);
  });
});

describe('genir index: lists of paths and URLs', () => {
  let server: Server;
  let base: string;
  const served = new Map<string, Buffer>();
  let stalls = 0;

  beforeAll(async () => {
    served.set('/one.png', await noiseImage(21));
    served.set('/two.jpg', await noiseImage(22, 'jpeg'));
    served.set('/dup.png', await noiseImage(21));
    served.set('/page.html', Buffer.from('<html><body>not an image</body></html>'));
    served.set('/big.png', Buffer.concat([await noiseImage(23), Buffer.alloc(300_000)]));
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/slow.png') {
        stalls++;
        return; // never answers
      }
      if (url === '/chunked-big.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        const chunk = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        const push = () => {
          if (sent >= 20 || res.destroyed) return res.end();
          sent++;
          res.write(chunk, () => setImmediate(push));
        };
        push();
        return;
      }
      if (url === '/moved.png') {
        res.writeHead(302, { location: '/one.png' });
        return res.end();
      }
      const body = served.get(url);
      if (!body) {
        res.writeHead(404);
        return res.end('missing');
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('downloads URLs with a size cap and a timeout, reads relative paths, and reports each failure', async () => {
    const folder = join(tmp, 'list-src');
    await mkdir(join(folder, 'pics'), { recursive: true });
    await writeFile(join(folder, 'pics', 'local.png'), await noiseImage(31));
    const list = join(folder, 'gallery.txt');
    await writeFile(
      list,
      [
        '# team banners',
        '',
        'pics/local.png',
        'pics/absent.png',
        'notes.md',
        `${base}/one.png`,
        `${base}/two.jpg`,
        `${base}/dup.png`,
        `${base}/moved.png`,
        `${base}/nothing-here.png`,
        `${base}/page.html`,
        `${base}/big.png`,
        `${base}/chunked-big.png`,
        `${base}/slow.png`,
        'ftp://example.invalid/x.png',
      ].join('\n'),
    );
    await writeFile(join(folder, 'notes.md'), '# not an image');
    const dir = join(tmp, 'data', 'list-gallery');
    const encoder = new PixelEncoder();
    const options: IndexRunOptions = {
      sources: [list],
      dir,
      name: 'list',
      encoder,
      index: { kind: 'usearch' },
      batch: 3,
      maxDownloadBytes: 200_000,
      downloadTimeoutMs: 500,
    };
    const summary = await indexGallery(options);
    expect(summary).toMatchObject({ indexed: 3, duplicates: 2, assets: 3 });
    const reasons = Object.fromEntries(
      summary.bad.map((b) => [b.source.replace(base, '').replace(folder, '.'), b.reason]),
    );
    expect(reasons).toEqual({
      './pics/absent.png': 'file not found',
      './notes.md': 'unsupported file type ".md"',
      '/nothing-here.png': 'download failed: HTTP 404',
      '/page.html': 'not an image',
      '/big.png': expect.stringMatching(/^download is .* over the 195.3 KB limit$/),
      '/chunked-big.png': 'download is over the 195.3 KB limit',
      '/slow.png': 'download timed out after 0.5 s',
    });
    expect(summary.notes.some((n) => n.includes('unsupported URL scheme'))).toBe(true);
    expect(stalls).toBe(1);
    const g = readGallery(dir);
    const assets = await g.gallery.all();
    expect(assets.map((a) => a.title).sort()).toEqual(['local', 'one', 'two']);
    // Downloads are kept beside the gallery, so the bot can show them.
    const one = assets.find((a) => a.title === 'one')!;
    expect(one.source).toBe(join(dir, 'downloads', `${one.id}.png`));
    expect(await g.gallery.read(one)).toEqual(served.get('/one.png'));
    expect(
      g
        .files()
        .filter((f) => f.assetId === one.id)
        .map((f) => f.source.replace(base, '')),
    ).toEqual(['/dup.png', '/moved.png', '/one.png']);
    g.close();

    // Already indexed URLs are not downloaded again.
    const again = await indexGallery(options);
    expect(again.indexed).toBe(0);
    expect(again.unchanged).toBe(5);
    expect(encoder.images).toBe(3);
  });
});

describe('genir index: Pinecone (fake) and the gallery lock', () => {
  let fake: FakePinecone;
  beforeAll(async () => {
    fake = await new FakePinecone().start();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('indexes into a created Pinecone index (asset metadata included) and prunes from it', async () => {
    const { root } = await makeFolder();
    const dir = join(tmp, 'data', 'pc-gallery');
    const settings: IndexSettings = {
      kind: 'pinecone',
      pinecone: {
        apiKey: FAKE_API_KEY,
        indexName: 'team-gallery',
        controllerHostUrl: fake.url,
        createIfMissing: true,
      },
    };
    const encoder = new PixelEncoder();
    const run = (extra: Partial<IndexRunOptions> = {}) =>
      indexGallery({ sources: [root], dir, name: 'team', encoder, index: settings, batch: 4, ...extra });
    const first = await run();
    expect(first).toMatchObject({ indexed: 7, assets: 7, vectors: 7 });
    expect(fake.indexes.get('team-gallery')?.dimension).toBe(encoder.dim);
    const records = fake.records('team-gallery', 'team');
    const g = readGallery(dir);
    const a = (await g.gallery.all()).find((x) => x.title === 'a')!;
    g.close();
    expect(records.get(a.id)?.metadata).toEqual({ asset_id: a.id, path: join(root, 'a.png'), title: 'a' });

    await rm(join(root, 'nested', 'd.webp'));
    const pruned = await run({ prune: true });
    expect(pruned).toMatchObject({ removed: 1, assets: 6, vectors: 6 });
  });

  it('refuses to run two indexers on one gallery at once', async () => {
    const { root } = await makeFolder();
    const dir = join(tmp, 'data', 'locked');
    await mkdir(dir, { recursive: true });
    await writeFile(galleryPaths(dir).lock, String(process.ppid));
    await expect(
      indexGallery({
        sources: [root],
        dir,
        name: 'x',
        encoder: new PixelEncoder(),
        index: { kind: 'exact' },
      }),
    ).rejects.toThrow(/another genir index \(pid \d+\) is indexing this gallery/);
    // A lock left by a dead process is taken over.
    await writeFile(galleryPaths(dir).lock, '999999999');
    const ok = await indexGallery({
      sources: [root],
      dir,
      name: 'x',
      encoder: new PixelEncoder(),
      index: { kind: 'exact' },
    });
    expect(ok.indexed).toBe(7);
    expect(await readFile(galleryPaths(dir).lock).catch(() => null)).toBeNull();
  });
});
