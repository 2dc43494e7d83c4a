/**
 * The two pictures every chat front end posts for a round: the synthetic image with its query as a
 * caption, and the numbered contact sheet of the matches. Both are plain PNG buffers built with
 * sharp; text is drawn with SVG (see svg-text.ts for escaping and wrapping) or, for the many
 * short tile labels, with pango markup through sharp's text input.
 *
 * Untrusted images (gallery files, uploads, generator output) are decoded with `limitInputPixels`,
 * so a decompression bomb becomes a placeholder tile instead of an out-of-memory crash.
 */
import sharp from 'sharp';
import type { SheetTile } from '../../../core/ports.ts';
import { charsThatFit, escapeXml, normalizeSpace, truncate, wrapText } from './svg-text.ts';

export const FONT_FAMILY = 'DejaVu Sans, sans-serif';
/** Default decode limit for any image drawn here: 40 megapixels. */
export const DEFAULT_LIMIT_INPUT_PIXELS = 40_000_000;

export const SYNTHETIC_WIDTH = 512;
/** Very tall synthetic images are fitted inside 512 × this and centred. */
export const SYNTHETIC_MAX_HEIGHT = 1024;
const CAPTION_MAX_LINES = 4;
/** Default tile size of the contact sheet (gallery thumbnails are made at this size). */
export const CONTACT_SHEET_TILE = 192;

const COLORS = {
  sheet: '#2b2d31',
  placeholder: '#5c5f66',
  placeholderText: '#eceef1',
  badge: '#111214',
  badgeText: '#ffffff',
  label: '#dbdee1',
  captionBar: '#1e1f22',
  captionTitle: '#8ab4ff',
  captionText: '#f2f3f5',
} as const;

export interface RenderSyntheticInput {
  png: Buffer;
  query: string;
  roundNumber: number;
}

export interface RenderOptions {
  /** Largest decoded image (width × height) accepted; larger ones become placeholders. */
  limitInputPixels?: number;
}

/**
 * The synthetic image scaled to 512 px wide with a caption bar below it: "Round N" and the query,
 * word-wrapped to at most 4 lines. An image that cannot be decoded is drawn as a placeholder.
 *
 * Speed: the image decode and the caption bar's SVG (only the bar: rasterizing an SVG the size of
 * the whole picture costs several times more) run in parallel; the two are stacked in one RGB buffer
 * and encoded once.
 */
export async function renderSynthetic(
  input: RenderSyntheticInput,
  options: RenderOptions = {},
): Promise<Buffer> {
  const width = SYNTHETIC_WIDTH;
  const limit = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  const pad = 14;
  const titleSize = 20;
  const textSize = 16;
  const lineHeight = 22;
  const query = normalizeSpace(input.query) || '(no query)';
  const lines = wrapText(query, charsThatFit(width - 2 * pad, textSize), CAPTION_MAX_LINES);
  const barHeight = pad + titleSize + 8 + lines.length * lineHeight + pad - 4;
  const titleY = pad + titleSize - 3;
  const round = Number.isFinite(input.roundNumber) ? Math.max(0, Math.floor(input.roundNumber)) : '?';
  const bar = [
    `<rect x="0" y="0" width="${width}" height="${barHeight}" fill="${COLORS.captionBar}"/>`,
    `<text x="${pad}" y="${titleY}" font-family="${FONT_FAMILY}" font-size="${titleSize}" font-weight="bold" fill="${COLORS.captionTitle}">Round ${round}</text>`,
    ...lines.map(
      (line, i) =>
        `<text x="${pad}" y="${titleY + 8 + (i + 1) * lineHeight}" font-family="${FONT_FAMILY}" font-size="${textSize}" fill="${COLORS.captionText}" xml:space="preserve">${escapeXml(line)}</text>`,
    ),
  ];

  const [decoded, caption] = await Promise.all([
    sharp(input.png, { limitInputPixels: limit })
      .rotate()
      .flatten({ background: COLORS.captionBar })
      .resize({ width, height: SYNTHETIC_MAX_HEIGHT, fit: 'inside' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
      .then(({ data, info }): RawImage => ({ data, width: info.width, height: info.height, channels: 3 }))
      .catch((error: unknown) =>
        rasterize(
          svgDocument(width, width, [placeholderSvgParts(0, 0, width, width, decodeErrorText(error), 20)]),
        ),
      ),
    rasterize(svgDocument(width, barHeight, bar)),
  ]);
  const picture: RawImage = {
    data: Buffer.alloc(width * (decoded.height + barHeight) * 3),
    width,
    height: decoded.height + barHeight,
    channels: 3,
  };
  fillRgb(picture.data, CAPTION_BAR_RGB);
  blit(picture, decoded, Math.floor((width - decoded.width) / 2), 0);
  blit(picture, caption, 0, decoded.height);
  return encodePng(picture);
}

export interface ContactSheetOptions extends RenderOptions {
  columns?: number;
  tileSize?: number;
}

export interface ContactSheetLayout {
  columns: number;
  rows: number;
  tileSize: number;
  gap: number;
  /** Height of the label strip under each tile (0 when no tile has a label). */
  labelHeight: number;
  width: number;
  height: number;
}

const SHEET_GAP = 6;
const LABEL_HEIGHT = 22;
const LABEL_FONT = 13;

/**
 * Grid geometry of a contact sheet: `columns` wide (fewer when there are fewer tiles), as many
 * rows as needed; each cell is tileSize × (tileSize + labelHeight), with a gap around every cell.
 */
export function contactSheetLayout(
  count: number,
  options: { columns?: number; tileSize?: number; labels?: boolean } = {},
): ContactSheetLayout {
  const tileSize = Math.max(64, Math.floor(options.tileSize ?? CONTACT_SHEET_TILE));
  const wanted = Math.max(1, Math.floor(options.columns ?? 5));
  const cells = Math.max(1, count);
  const columns = Math.min(wanted, cells);
  const rows = Math.ceil(cells / columns);
  const labelHeight = options.labels ? LABEL_HEIGHT : 0;
  const gap = SHEET_GAP;
  return {
    columns,
    rows,
    tileSize,
    gap,
    labelHeight,
    width: columns * tileSize + (columns + 1) * gap,
    height: rows * (tileSize + labelHeight) + (rows + 1) * gap,
  };
}

/**
 * One PNG with the tiles in a grid, each with a large number badge at its top-left and an
 * optional label below. Tiles that are missing or cannot be decoded (corrupt, too many pixels)
 * become gray placeholders carrying the reason; the sheet itself always renders.
 *
 * Speed: every sharp pipeline has a fixed cost of about a millisecond, so only the tile decodes and
 * the label texts run through sharp (in parallel); badges are rasterized once and cached, and all
 * pieces are copied/blended into one RGB buffer in JS, then encoded once.
 */
export async function renderContactSheet(
  tiles: SheetTile[],
  options: ContactSheetOptions = {},
): Promise<Buffer> {
  const labelTexts = tiles.map((t) => (t.label ? normalizeSpace(t.label) : ''));
  const layout = contactSheetLayout(tiles.length, {
    columns: options.columns,
    tileSize: options.tileSize,
    labels: labelTexts.some((l) => l !== ''),
  });
  const { tileSize, gap, labelHeight } = layout;
  const limit = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  const labelChars = charsThatFit(tileSize - 8, LABEL_FONT);

  const [images, labels, badges] = await Promise.all([
    Promise.all(tiles.map((tile) => decodeTile(tile, tileSize, limit))),
    Promise.all(
      labelTexts.map((text) => (labelHeight > 0 && text ? renderLabel(truncate(text, labelChars)) : null)),
    ),
    Promise.all(tiles.map((tile) => badgeImage(tile.n, tileSize))),
  ]);

  const sheet: RawImage = {
    data: Buffer.alloc(layout.width * layout.height * 3),
    width: layout.width,
    height: layout.height,
    channels: 3,
  };
  fillRgb(sheet.data, SHEET_RGB);
  if (tiles.length === 0) blit(sheet, await placeholderImage(tileSize, 'no matches'), gap, gap);

  for (let i = 0; i < tiles.length; i++) {
    const x = gap + (i % layout.columns) * (tileSize + gap);
    const y = gap + Math.floor(i / layout.columns) * (tileSize + labelHeight + gap);
    const cell = { left: x, top: y, right: x + tileSize, bottom: y + tileSize + labelHeight };
    const image = images[i]!;
    const picture = 'data' in image ? image : await placeholderImage(tileSize, image.error);
    blit(
      sheet,
      picture,
      x + Math.floor((tileSize - picture.width) / 2),
      y + Math.floor((tileSize - picture.height) / 2),
      cell,
    );
    const badge = badges[i];
    if (badge) blit(sheet, badge, x + 5, y + 5, cell);
    const label = labels[i];
    if (label) {
      blit(
        sheet,
        label,
        x + Math.max(0, Math.floor((tileSize - label.width) / 2)),
        y + tileSize + Math.max(0, Math.floor((labelHeight - label.height) / 2)),
        cell,
      );
    }
  }
  return encodePng(sheet);
}

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  /** 3 (RGB, copied) or 4 (RGBA, not premultiplied, blended). */
  channels: number;
}

interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const SHEET_RGB: [number, number, number] = [0x2b, 0x2d, 0x31];
const CAPTION_BAR_RGB: [number, number, number] = [0x1e, 0x1f, 0x22];

function encodePng(image: RawImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

function fillRgb(buffer: Buffer, [r, g, b]: [number, number, number]): void {
  if (buffer.length < 3) return;
  buffer[0] = r;
  buffer[1] = g;
  buffer[2] = b;
  for (let filled = 3; filled < buffer.length; filled *= 2) {
    buffer.copyWithin(filled, 0, Math.min(filled, buffer.length - filled));
  }
}

/** Draw src (RGB or RGBA) onto the RGB image dst at (left, top), clipped to dst and to `clip`. */
function blit(dst: RawImage, src: RawImage, left: number, top: number, clip?: Rect): void {
  const x0 = Math.max(left, clip?.left ?? 0, 0);
  const y0 = Math.max(top, clip?.top ?? 0, 0);
  const x1 = Math.min(left + src.width, clip?.right ?? dst.width, dst.width);
  const y1 = Math.min(top + src.height, clip?.bottom ?? dst.height, dst.height);
  if (x1 <= x0 || y1 <= y0) return;
  const d = dst.data;
  const s = src.data;
  for (let y = y0; y < y1; y++) {
    let di = (y * dst.width + x0) * 3;
    let si = ((y - top) * src.width + (x0 - left)) * src.channels;
    if (src.channels === 3) {
      s.copy(d, di, si, si + (x1 - x0) * 3);
      continue;
    }
    for (let x = x0; x < x1; x++, di += 3, si += 4) {
      const a = s[si + 3]!;
      if (a === 0) continue;
      if (a === 255) {
        d[di] = s[si]!;
        d[di + 1] = s[si + 1]!;
        d[di + 2] = s[si + 2]!;
        continue;
      }
      const b = 255 - a;
      d[di] = (s[si]! * a + d[di]! * b + 127) / 255;
      d[di + 1] = (s[si + 1]! * a + d[di + 1]! * b + 127) / 255;
      d[di + 2] = (s[si + 2]! * a + d[di + 2]! * b + 127) / 255;
    }
  }
}

async function decodeTile(
  tile: SheetTile,
  tileSize: number,
  limit: number,
): Promise<RawImage | { error: string }> {
  if (!tile.png) return { error: tile.error || 'file missing' };
  try {
    const { data, info } = await sharp(tile.png, { limitInputPixels: limit })
      .rotate()
      .flatten({ background: COLORS.sheet })
      .resize(tileSize, tileSize, { fit: 'inside' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
    return { data, width: info.width, height: info.height, channels: 3 };
  } catch (error) {
    return { error: decodeErrorText(error) };
  }
}

async function rasterize(svg: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(svg).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function placeholderImage(tileSize: number, text: string): Promise<RawImage> {
  try {
    return await rasterize(
      svgDocument(tileSize, tileSize, [placeholderSvgParts(0, 0, tileSize, tileSize, text, 15)]),
    );
  } catch {
    const data = Buffer.alloc(tileSize * tileSize * 3);
    fillRgb(data, [0x5c, 0x5f, 0x66]);
    return { data, width: tileSize, height: tileSize, channels: 3 };
  }
}

/** A label line as RGBA, through pango directly (much cheaper than an SVG per label). */
async function renderLabel(text: string): Promise<RawImage | null> {
  try {
    const { data, info } = await sharp({
      text: {
        text: `<span foreground="${COLORS.label}">${escapeXml(text)}</span>`,
        font: `DejaVu Sans ${LABEL_FONT}`,
        dpi: 72,
        rgba: true,
      },
    })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch {
    return null;
  }
}

const badgeCache = new Map<string, Promise<RawImage | null>>();

/** The number badge, rasterized once per number and size. */
function badgeImage(n: number, tileSize: number): Promise<RawImage | null> {
  const font = Math.max(28, Math.round(tileSize * 0.15));
  const key = `${n}:${font}`;
  let badge = badgeCache.get(key);
  if (!badge) {
    const digits = String(n);
    const pad = Math.round(font * 0.3);
    const width = Math.min(tileSize - 10, Math.ceil(Array.from(digits).length * font * 0.66) + 2 * pad);
    const height = font + 2 * pad - 4;
    badge = rasterize(
      svgDocument(width + 2, height + 2, [
        `<rect x="1" y="1" width="${width}" height="${height}" rx="8" fill="${COLORS.badge}" fill-opacity="0.82" stroke="#ffffff" stroke-opacity="0.55" stroke-width="1.5"/>`,
        `<text x="${1 + width / 2}" y="${1 + height / 2}" dy="0.36em" text-anchor="middle" font-family="${FONT_FAMILY}" font-size="${font}" font-weight="bold" fill="${COLORS.badgeText}">${escapeXml(digits)}</text>`,
      ]),
    ).catch(() => null);
    if (badgeCache.size >= 256) badgeCache.clear();
    badgeCache.set(key, badge);
  }
  return badge;
}

function decodeErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return 'image too large';
  return 'cannot decode';
}

function placeholderSvgParts(
  x: number,
  y: number,
  w: number,
  h: number,
  text: string,
  fontSize: number,
): string {
  const lines = wrapText(text, charsThatFit(w - 16, fontSize), 3);
  const lineHeight = Math.round(fontSize * 1.3);
  const top = y + h / 2 - ((lines.length - 1) * lineHeight) / 2;
  const out = [`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${COLORS.placeholder}"/>`];
  lines.forEach((line, i) => {
    out.push(
      `<text x="${x + w / 2}" y="${top + i * lineHeight}" dy="0.36em" text-anchor="middle" font-family="${FONT_FAMILY}" font-size="${fontSize}" fill="${COLORS.placeholderText}" xml:space="preserve">${escapeXml(line)}</text>`,
    );
  });
  return out.join('');
}

function svgDocument(width: number, height: number, parts: string[]): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`,
  );
}
