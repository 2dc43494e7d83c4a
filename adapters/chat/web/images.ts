/**
 * Pictures the web page shows, looked up by id only: round pictures by (thread key, round id) in the
 * thread store (the key carries the browser, so another browser's round is not found), gallery pictures by asset id in the gallery. No URL part is ever used as a path.
 */
import sharp from 'sharp';
import { BoundedMap } from '../../../core/bounded.ts';
import type { ChatEngine, Gallery, RoundImageStore } from '../../../core/ports.ts';
import type { Asset, Round, ThreadKey, ThreadState } from '../../../core/types.ts';
import { MAX_INPUT_PIXELS } from '../../pictures/sharp/image-input.ts';

export interface ImageResponse {
  body: Buffer;
  type: string;
  /** Offer as a download with this file name. */
  attachment?: string;
}

/** Content type of the picture formats browsers display, from the bytes; null for anything else. */
export function webImageType(bytes: Buffer): string | null {
  const b = bytes;
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (
    b.length >= 12 &&
    b.subarray(0, 4).toString('latin1') === 'RIFF' &&
    b.subarray(8, 12).toString('latin1') === 'WEBP'
  ) {
    return 'image/webp';
  }
  return null;
}

const ROUND_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ASSET_ID = 512;
export const THUMB_SIZE = 320;

export interface WebImagesDeps {
  engine: Pick<ChatEngine, 'thread' | 'roundView'>;
  gallery: Gallery;
  images: RoundImageStore;
}

export class WebImages {
  private readonly thumbs = new BoundedMap<string, Buffer>(2000);
  private readonly sheets = new BoundedMap<string, Buffer>(200);
  private readonly displayable = new BoundedMap<string, Buffer>(100);

  constructor(private readonly deps: WebImagesDeps) {}

  /** Keep a contact sheet the engine just rendered, so the page's request does not render it again. */
  rememberSheet(key: ThreadKey, roundId: string, png: Buffer): void {
    this.sheets.set(`${key}/${roundId}`, png);
  }

  /** The round's own picture (drawing or upload) as stored, or null (→ 404). */
  async synthetic(key: ThreadKey, roundId: string): Promise<ImageResponse | null> {
    const found = await this.round(key, roundId);
    if (!found?.round.generated) return null;
    const png = await this.deps.images.get(found.round.generated.image).catch(() => null);
    return png ? { body: png, type: webImageType(png) ?? 'application/octet-stream' } : null;
  }

  /** The round's numbered contact sheet. */
  async sheet(key: ThreadKey, roundId: string): Promise<ImageResponse | null> {
    const cacheKey = `${key}/${roundId}`;
    const cached = this.sheets.get(cacheKey);
    if (cached) return { body: cached, type: 'image/png' };
    const view = ROUND_ID.test(roundId) ? await this.deps.engine.roundView(key, roundId) : null;
    if (!view) return null;
    this.sheets.set(cacheKey, view.contactSheetPng);
    return { body: view.contactSheetPng, type: 'image/png' };
  }

  /** A gallery picture at full size, in a format the browser shows (converted to PNG if need be). */
  async asset(assetId: string): Promise<ImageResponse | null> {
    const cached = this.displayable.get(assetId);
    if (cached) return { body: cached, type: 'image/png' };
    const file = await this.assetFile(assetId);
    if (!file) return null;
    const type = webImageType(file.bytes);
    if (type) return { body: file.bytes, type };
    const png = await sharp(file.bytes, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .png()
      .toBuffer()
      .catch(() => null);
    if (!png) return null;
    this.displayable.set(assetId, png);
    return { body: png, type: 'image/png' };
  }

  /** A gallery picture scaled to fit 320 × 320 (WebP), for the match tiles. */
  async thumb(assetId: string): Promise<ImageResponse | null> {
    const cached = this.thumbs.get(assetId);
    if (cached) return { body: cached, type: 'image/webp' };
    const file = await this.assetFile(assetId);
    if (!file) return null;
    const webp = await sharp(file.bytes, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .resize({ width: THUMB_SIZE, height: THUMB_SIZE, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 82 })
      .toBuffer()
      .catch(() => null);
    if (!webp) return null;
    this.thumbs.set(assetId, webp);
    return { body: webp, type: 'image/webp' };
  }

  /** The original file as it is, as a download. */
  async original(assetId: string): Promise<ImageResponse | null> {
    const file = await this.assetFile(assetId);
    if (!file) return null;
    const name = file.asset.source.split(/[\\/]/).pop() || `${file.asset.id}`;
    return {
      body: file.bytes,
      type: webImageType(file.bytes) ?? 'application/octet-stream',
      attachment: name,
    };
  }

  private async assetFile(assetId: string): Promise<{ asset: Asset; bytes: Buffer } | null> {
    if (!assetId || assetId.length > MAX_ASSET_ID || assetId.includes('\0')) return null;
    const asset = await this.deps.gallery.get(assetId);
    if (!asset) return null;
    const bytes = await this.deps.gallery.read(asset).catch(() => null);
    return bytes ? { asset, bytes } : null;
  }

  private async round(key: ThreadKey, roundId: string): Promise<{ state: ThreadState; round: Round } | null> {
    if (!ROUND_ID.test(roundId)) return null;
    const state = await this.deps.engine.thread(key);
    const round = state?.rounds.find((r) => r.id === roundId);
    return state && round ? { state, round } : null;
  }
}
