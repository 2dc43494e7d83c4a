import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  makeThumbnails,
  ThumbnailStore,
  withThumbnails,
} from '../../../adapters/pictures/sharp/thumbnails.ts';
import type { Gallery } from '../../../core/ports.ts';
import type { Asset } from '../../../core/types.ts';

const picture = (width: number, height: number, background = '#3366aa') =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A gallery over an in-memory map of files, counting reads. */
function memoryGallery(files: Map<string, Buffer>) {
  const reads: string[] = [];
  const gallery: Gallery = {
    get: async () => null,
    getMany: async () => new Map(),
    count: async () => files.size,
    read: async (asset) => {
      reads.push(asset.id);
      return files.get(asset.source) ?? null;
    },
  };
  return { gallery, reads };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-thumbs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ThumbnailStore', () => {
  it('makes a thumbnail once, fitted inside the tile size, and reads it back from the store', async () => {
    const store = ThumbnailStore.beside(dir);
    const original = await picture(800, 400);
    let made = 0;
    const first = await store.get('abc123', async () => {
      made++;
      return original;
    });
    const meta = await sharp(first!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 192, 96]);
    const again = await store.get('abc123', async () => {
      made++;
      return original;
    });
    expect(made).toBe(1);
    expect(again!.equals(first!)).toBe(true);
    expect((await readFile(store.path('abc123'))).equals(first!)).toBe(true);
    expect(store.path('abc123').startsWith(join(dir, 'thumbnails'))).toBe(true);
  });

  it('gives the original back when it cannot be decoded, and null when it is missing', async () => {
    const store = new ThumbnailStore(dir);
    const junk = Buffer.from('not an image');
    expect((await store.get('j', async () => junk))?.equals(junk)).toBe(true);
    expect(await store.has('j')).toBe(false);
    expect(await store.get('m', async () => null)).toBeNull();
  });

  it('put() keeps a thumbnail at index time, so a sheet never reads the original', async () => {
    const store = new ThumbnailStore(dir, { size: 64 });
    await store.put('p1', await picture(300, 300));
    expect(await store.has('p1')).toBe(true);
    const got = await store.get('p1', () => Promise.reject(new Error('the original was read')));
    expect((await sharp(got!).metadata()).width).toBe(64);
  });

  it('a thumbnail that cannot be saved is still used and reported; without a handler the error is thrown', async () => {
    const blocked = join(dir, 'file');
    await writeFile(blocked, 'a file where the folder should be');
    const reported: string[] = [];
    const store = new ThumbnailStore(blocked, { onWriteError: (_err, path) => reported.push(path) });
    const thumb = await store.get('w', () => picture(400, 400));
    expect((await sharp(thumb!).metadata()).width).toBe(192);
    expect(reported).toEqual([store.path('w')]);
    await expect(new ThumbnailStore(blocked).get('w', () => picture(400, 400))).rejects.toThrow();
    await expect(new ThumbnailStore(blocked).put('w', await picture(400, 400))).rejects.toThrow();
  });
});

describe('withThumbnails', () => {
  it("keys thumbnails by the asset's hash, or by the sha256 of its file; read() still gives the original", async () => {
    const a = await picture(400, 400, '#ff0000');
    const b = await picture(400, 200, '#00ff00');
    const { gallery, reads } = memoryGallery(
      new Map([
        ['/a.png', a],
        ['/b.png', b],
      ]),
    );
    const store = new ThumbnailStore(dir);
    const thumbed = withThumbnails(gallery, store);
    const withHash: Asset = { id: 'a', source: '/a.png', title: 'A', hash: 'hash-of-a' };
    const noHash: Asset = { id: 'b', source: '/b.png', title: 'B' };
    expect((await sharp((await thumbed.thumbnail!(withHash))!).metadata()).width).toBe(192);
    expect(await store.has('hash-of-a')).toBe(true);
    await thumbed.thumbnail!(withHash);
    expect(reads).toEqual(['a']);
    expect((await sharp((await thumbed.thumbnail!(noHash))!).metadata()).height).toBe(96);
    expect(await store.has(sha256(b))).toBe(true);
    expect((await thumbed.read(withHash))?.equals(a)).toBe(true);
    expect(await thumbed.thumbnail!({ id: 'gone', source: '/gone.png', title: 'gone' })).toBeNull();
  });

  it('makeThumbnails fills in what is missing and skips what is kept', async () => {
    const files = new Map([
      ['/1.png', await picture(100, 100)],
      ['/2.png', await picture(120, 60)],
    ]);
    const { gallery, reads } = memoryGallery(files);
    const store = new ThumbnailStore(dir);
    const assets: Asset[] = [
      { id: '1', source: '/1.png', title: '1', hash: 'h1' },
      { id: '2', source: '/2.png', title: '2' },
      { id: '3', source: '/missing.png', title: '3', hash: 'h3' },
    ];
    expect(await makeThumbnails(gallery, assets, store, { concurrency: 2 })).toBe(3);
    expect(await store.has('h1')).toBe(true);
    expect(await store.has(sha256(files.get('/2.png')!))).toBe(true);
    expect(await store.has('h3')).toBe(false);
    reads.length = 0;
    await makeThumbnails(gallery, assets, store);
    expect(reads.sort()).toEqual(['2', '3']);
  });
});
