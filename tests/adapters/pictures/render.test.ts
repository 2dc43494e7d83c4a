import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  contactSheetLayout,
  DEFAULT_LIMIT_INPUT_PIXELS,
  renderContactSheet,
  renderSynthetic,
  SYNTHETIC_WIDTH,
} from '../../../adapters/pictures/sharp/render.ts';
import { escapeXml, truncate, wrapText } from '../../../adapters/pictures/sharp/svg-text.ts';
import type { SheetTile } from '../../../core/ports.ts';

const solid = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();

/** A tiny, valid-looking PNG whose header claims width × height pixels (a decompression bomb). */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Mean RGB of a region of a PNG. */
async function meanColor(png: Buffer, region: { left: number; top: number; width: number; height: number }) {
  const { data, info } = await sharp(png).extract(region).raw().toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) {
    for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (data[i + c] ?? 0);
  }
  const n = data.length / info.channels;
  return sum.map((s) => s / n);
}

describe('svg-text', () => {
  it('escapes XML-special characters and drops characters XML forbids', () => {
    expect(escapeXml(`a<b>&"c"'d'\u0000\u0007e`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;e');
  });

  it('wraps on words, splits long words and ends an overflow with an ellipsis', () => {
    expect(wrapText('the quick brown fox jumps', 10, 4)).toEqual(['the quick', 'brown fox', 'jumps']);
    expect(wrapText('abcdefghijklmnop', 6, 4)).toEqual(['abcdef', 'ghijkl', 'mnop']);
    const lines = wrapText('one two three four five six seven eight nine ten', 9, 2);
    expect(lines).toHaveLength(2);
    expect(lines[1]?.endsWith('…')).toBe(true);
    expect(lines.every((l) => Array.from(l).length <= 9)).toBe(true);
    expect(wrapText('  \n ', 10, 3)).toEqual([]);
  });

  it('truncates by code points', () => {
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('a long title here', 8)).toBe('a long…');
    expect(Array.from(truncate('🦊🦊🦊🦊🦊', 3))).toHaveLength(3);
  });
});

describe('renderSynthetic', () => {
  it('scales to 512 px wide and adds a caption bar below the image', async () => {
    const out = await renderSynthetic({
      png: await solid(256, 256, '#ff0000'),
      query: 'a red square',
      roundNumber: 1,
    });
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(SYNTHETIC_WIDTH);
    expect(meta.height).toBeGreaterThan(512);
    const [r, g, b] = await meanColor(out, { left: 0, top: 0, width: 512, height: 500 });
    expect(r).toBeGreaterThan(240);
    expect(g).toBeLessThan(15);
    expect(b).toBeLessThan(15);
  });

  it('grows the caption with the query and caps it at four lines', async () => {
    const png = await solid(300, 200, '#00ff00');
    const heightFor = async (query: string) =>
      (await sharp(await renderSynthetic({ png, query, roundNumber: 2 })).metadata()).height;
    const one = await heightFor('short');
    const long = 'word '.repeat(200);
    const capped = await heightFor(long);
    expect(capped).toBeGreaterThan(one);
    expect(await heightFor(`${long} ${long}`)).toBe(capped);
  });

  it('renders queries with XML-special characters', async () => {
    const query = `<svg onload="x"> & 'quotes' "double" </text></svg> <!-- ]]> \u0001 🦊`;
    const out = await renderSynthetic({ png: await solid(64, 64, '#3366aa'), query, roundNumber: 3 });
    const meta = await sharp(out).metadata();
    expect(meta.width).toBe(512);
    expect(meta.height).toBeGreaterThan(512);
  });

  it('draws a placeholder instead of failing on an undecodable image', async () => {
    const out = await renderSynthetic({ png: Buffer.from('not a png'), query: 'x', roundNumber: 1 });
    expect((await sharp(out).metadata()).width).toBe(512);
  });
});

describe('renderContactSheet', () => {
  it('lays out 10 tiles as 5 × 2 and sizes the PNG from the layout', async () => {
    const png = await solid(256, 256, '#ffffff');
    const tiles: SheetTile[] = Array.from({ length: 10 }, (_, i) => ({
      n: i + 1,
      png,
      label: `asset ${i + 1}`,
    }));
    const layout = contactSheetLayout(10, { labels: true });
    expect([layout.columns, layout.rows]).toEqual([5, 2]);
    const out = await renderContactSheet(tiles);
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(5 * 192 + 6 * layout.gap);
    expect(meta.height).toBe(2 * (192 + layout.labelHeight) + 3 * layout.gap);
  });

  it('honours columns and tileSize, and omits the label strip when there are no labels', async () => {
    const png = await solid(100, 50, '#123456');
    const tiles: SheetTile[] = Array.from({ length: 7 }, (_, i) => ({ n: i + 1, png }));
    const out = await renderContactSheet(tiles, { columns: 3, tileSize: 100 });
    const layout = contactSheetLayout(7, { columns: 3, tileSize: 100 });
    expect(layout).toMatchObject({ columns: 3, rows: 3, labelHeight: 0 });
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([3 * 100 + 4 * layout.gap, 3 * 100 + 4 * layout.gap]);
  });

  it('uses fewer columns than asked when there are fewer tiles, and renders an empty sheet', async () => {
    const png = await solid(32, 32, '#000000');
    const two = await sharp(
      await renderContactSheet([
        { n: 1, png },
        { n: 2, png },
      ]),
    ).metadata();
    expect(two.width).toBe(2 * 192 + 3 * 6);
    const none = await sharp(await renderContactSheet([])).metadata();
    expect([none.width, none.height]).toEqual([192 + 12, 192 + 12]);
  });

  it('draws the image in its tile and a dark number badge at the top-left', async () => {
    const out = await renderContactSheet([{ n: 1, png: await solid(192, 192, '#ffffff') }]);
    const [r] = await meanColor(out, { left: 120, top: 120, width: 40, height: 40 });
    expect(r).toBeGreaterThan(250);
    const badge = await meanColor(out, { left: 14, top: 14, width: 6, height: 6 });
    expect(badge[0]).toBeLessThan(80);
  });

  it('writes the label in the strip under the tile', async () => {
    const png = await solid(192, 192, '#000000');
    const strip = { left: 6 + 46, top: 6 + 192 + 4, width: 100, height: 14 };
    const withLabel = await renderContactSheet([{ n: 1, png, label: 'MMMMMMMMMMMMMMMM' }]);
    const blank = await renderContactSheet([{ n: 1, png, label: ' ' }]);
    expect((await sharp(blank).metadata()).height).toBe(192 + 12);
    expect((await meanColor(withLabel, strip))[0]).toBeGreaterThan(0x2b + 20);
  });

  it('shows placeholders for missing and corrupt tiles and still renders the sheet', async () => {
    const good = await solid(256, 256, '#ffffff');
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const out = await renderContactSheet(
      [
        { n: 1, png: good, label: 'fine' },
        { n: 2, png: null, error: 'file missing', label: 'gone' },
        { n: 3, png: Buffer.from('definitely not an image'), label: 'junk' },
        { n: 4, png: truncated, label: 'cut' },
      ],
      { columns: 4, tileSize: 128 },
    );
    const meta = await sharp(out).metadata();
    expect(meta.width).toBe(4 * 128 + 5 * 6);
    const cell = (i: number) => ({ left: 6 + i * (128 + 6) + 60, top: 6 + 100, width: 20, height: 10 });
    const placeholderGray = 0x5c;
    expect((await meanColor(out, cell(0)))[0]).toBeGreaterThan(250);
    for (const i of [1, 2]) {
      expect(Math.abs((await meanColor(out, cell(i)))[0]! - placeholderGray)).toBeLessThan(12);
    }
  });

  it('turns a decompression bomb (header claiming 100000 × 100000) into a placeholder', async () => {
    const bomb = pngClaiming(100_000, 100_000);
    const header = await sharp(bomb, { limitInputPixels: false }).metadata();
    expect([header.width, header.height]).toEqual([100_000, 100_000]);
    await expect(
      sharp(bomb, { limitInputPixels: DEFAULT_LIMIT_INPUT_PIXELS }).raw().toBuffer(),
    ).rejects.toThrow(/pixel limit/);
    const out = await renderContactSheet([{ n: 1, png: bomb }], { tileSize: 128 });
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([128 + 12, 128 + 12]);
    const [r, g, b] = await meanColor(out, { left: 6 + 60, top: 6 + 100, width: 20, height: 10 });
    expect([r, g, b].every((v) => Math.abs(v! - 0x5c) < 12 || Math.abs(v! - 0x66) < 12)).toBe(true);
  });

  it('applies limitInputPixels to real images too', async () => {
    const big = await solid(1200, 1000, '#ffffff');
    const out = await renderContactSheet([{ n: 1, png: big }], {
      tileSize: 128,
      limitInputPixels: 1_000_000,
    });
    const [r] = await meanColor(out, { left: 6 + 60, top: 6 + 100, width: 20, height: 10 });
    expect(Math.abs(r! - 0x5c)).toBeLessThan(12);
    const allowed = await renderContactSheet([{ n: 1, png: big }], {
      tileSize: 128,
      limitInputPixels: 2_000_000,
    });
    expect(
      (await meanColor(allowed, { left: 6 + 60, top: 6 + 100, width: 20, height: 10 }))[0],
    ).toBeGreaterThan(250);
  });

  it('renders labels and badges with XML-special characters and large numbers', async () => {
    const png = await solid(64, 64, '#808080');
    const out = await renderContactSheet([
      { n: 123, png, label: `<b>bold</b> & "quoted" 'title' with a very long tail ${'x'.repeat(200)}` },
      { n: 2, png: null, error: '<error> & "oops"' },
    ]);
    expect((await sharp(out).metadata()).width).toBe(2 * 192 + 18);
  });
});
