/**
 * Thumbnails of gallery images for the contact sheet: made once from the original (the first time
 * it is shown), kept as small PNGs under `dir` by the file's content hash, so a round composes its
 * sheet from small tiles instead of decoding and shrinking every original again.
 */
import { createHash } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Gallery } from '../../../core/ports.ts';
import type { Asset } from '../../../core/types.ts';
import { replaceFile } from '../../store/replace-file.ts';
import { CONTACT_SHEET_TILE, DEFAULT_LIMIT_INPUT_PIXELS } from './render.ts';

export interface ThumbnailStoreOptions {
  /** Longest side in pixels (default: the contact sheet's tile size, so tiles are not resized again). */
  size?: number;
  limitInputPixels?: number;
  /**
   * A thumbnail made for a sheet that could not be saved: it is still used, and this is told
   * (without it, the error is thrown). put() always throws.
   */
  onWriteError?: (err: unknown, path: string) => void;
}

export class ThumbnailStore {
  private readonly size: number;
  private readonly limit: number;
  private readonly making = new Map<string, Promise<Buffer | null>>();

  constructor(
    readonly dir: string,
    private readonly options: ThumbnailStoreOptions = {},
  ) {
    this.size = options.size ?? CONTACT_SHEET_TILE;
    this.limit = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  }

  /** The store of a gallery kept in `galleryDir`: its thumbnails/ folder. */
  static beside(galleryDir: string, options: ThumbnailStoreOptions = {}): ThumbnailStore {
    return new ThumbnailStore(join(galleryDir, 'thumbnails'), options);
  }

  path(hash: string): string {
    return join(this.dir, String(this.size), hash.slice(0, 2), `${hash}.png`);
  }

  /**
   * The thumbnail of the image whose content hash is `hash`: read from the store, or made from
   * `original()` and stored. An original that cannot be decoded is returned as it is (the sheet
   * draws a placeholder saying why); a missing one gives null.
   */
  async get(hash: string, original: () => Promise<Buffer | null>): Promise<Buffer | null> {
    const path = this.path(hash);
    const stored = await readFile(path).catch(() => null);
    if (stored) return stored;
    let made = this.making.get(hash);
    if (!made) {
      made = this.make(path, original).finally(() => this.making.delete(hash));
      this.making.set(hash, made);
    }
    return made;
  }

  has(hash: string): Promise<boolean> {
    return access(this.path(hash)).then(
      () => true,
      () => false,
    );
  }

  /** Index time: make and keep the thumbnail of an image just read (nothing when it is kept already). */
  async put(hash: string, bytes: Buffer): Promise<void> {
    if (await this.has(hash)) return;
    const path = this.path(hash);
    const thumbnail = await this.shrink(bytes);
    if (thumbnail) await replaceFile(path, (tmp) => writeFile(tmp, thumbnail));
  }

  private async make(path: string, original: () => Promise<Buffer | null>): Promise<Buffer | null> {
    const bytes = await original();
    if (!bytes) return null;
    const thumbnail = await this.shrink(bytes);
    if (!thumbnail) return bytes;
    try {
      await replaceFile(path, (tmp) => writeFile(tmp, thumbnail));
    } catch (err) {
      if (!this.options.onWriteError) throw err;
      this.options.onWriteError(err, path);
    }
    return thumbnail;
  }

  /** The thumbnail's PNG, or null when the image cannot be decoded (or has too many pixels). */
  private shrink(bytes: Buffer): Promise<Buffer | null> {
    return sharp(bytes, { limitInputPixels: this.limit })
      .rotate()
      .resize(this.size, this.size, { fit: 'inside' })
      .toColourspace('srgb')
      .png({ compressionLevel: 6 })
      .toBuffer()
      .catch(() => null);
  }
}

/**
 * `gallery` with thumbnails from `store`, kept by each asset's content hash (or, for a gallery that
 * does not record hashes, the sha256 of its file).
 */
export function withThumbnails(gallery: Gallery, store: ThumbnailStore): Gallery {
  return {
    get: (id) => gallery.get(id),
    getMany: (ids) => gallery.getMany(ids),
    read: (asset) => gallery.read(asset),
    count: () => gallery.count(),
    async thumbnail(asset: Asset) {
      if (asset.hash) return store.get(asset.hash, () => gallery.read(asset));
      const bytes = await gallery.read(asset);
      return bytes ? store.get(sha256(bytes), async () => bytes) : null;
    },
  };
}

/**
 * Makes the missing thumbnails of `assets` (a gallery indexed before thumbnails were kept), a few
 * at a time; returns how many assets were looked at.
 */
export async function makeThumbnails(
  gallery: Gallery,
  assets: readonly Asset[],
  store: ThumbnailStore,
  options: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<number> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < assets.length) {
      const asset = assets[next++] as Asset;
      if (!asset.hash || !(await store.has(asset.hash))) {
        const bytes = await gallery.read(asset);
        if (bytes) await store.put(asset.hash ?? sha256(bytes), bytes);
      }
      done++;
      options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return done;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
