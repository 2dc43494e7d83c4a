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
    await expect(sharpPictures.uploadToPng(Buffer.alloc(0))).rejects.toThrow('the file is empty');
    await expect(sharpPictures.uploadToPng(Buffer.from('not a picture'))).rejects.toThrow(
      'it is not an image I can read',
    );
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
