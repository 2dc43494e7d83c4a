import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sharpPictures } from '../../../adapters/pictures/sharp/index.ts';

const jpeg = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#3366aa' } })
    .jpeg()
    .toBuffer();

describe('sharp round pictures', () => {
  it('turns an upload into a PNG no larger than 1024 px, and refuses what is not a picture', async () => {
    const png = await sharpPictures.uploadToPng(await jpeg(2048, 512));
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1024, 256]);
    await expect(sharpPictures.uploadToPng(Buffer.alloc(0))).rejects.toThrow('empty file (0 bytes)');
    await expect(sharpPictures.uploadToPng(Buffer.from('not a picture'))).rejects.toThrow(/^not an image$/);
  });

  it("says why a picture cannot be used in the indexer's words, never the library's", async () => {
    // A 30000 × 30000 PNG header (a decompression bomb): its claimed size is named.
    const bomb = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    bomb.writeUInt32BE(30_000, 16);
    bomb.writeUInt32BE(30_000, 20);
    await expect(sharpPictures.uploadToPng(bomb)).rejects.toThrow(
      /^30000×30000 is more than 40 megapixels \(decompression bomb guard\)$/,
    );
    const good = await jpeg(64, 64);
    const cut = good.subarray(0, good.length - 40);
    const damaged = Buffer.from(good);
    damaged.fill(0x41, 2, 40);
    for (const bytes of [cut, damaged]) {
      const err = await sharpPictures.uploadToPng(bytes).catch((e: Error) => e);
      expect(String(err)).toMatch(
        /: (not an image|truncated or corrupt image \((the file ends early|its header is damaged|its data cannot be decoded)\))$/,
      );
      expect(String(err)).not.toMatch(/Input buffer|Unknown error|VipsJpeg|libspng/);
    }
    const bmp = Buffer.alloc(64);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(40, 14);
    await expect(sharpPictures.uploadToPng(bmp)).rejects.toThrow('unsupported format (BMP)');
  });

  it('draws the captioned synthetic picture and the contact sheet as PNGs', async () => {
    const synthetic = await sharpPictures.synthetic({
      png: await jpeg(64, 64),
      query: 'a red fox',
      roundNumber: 2,
    });
    expect((await sharp(synthetic).metadata()).format).toBe('png');
    const sheet = await sharpPictures.contactSheet([
      { n: 1, png: await jpeg(32, 32), label: 'one' },
      { n: 2, png: null, label: 'two', error: 'file missing' },
    ]);
    expect((await sharp(sheet).metadata()).format).toBe('png');
  });
});
