import sharp, { type Metadata } from 'sharp';

/** Larger pictures are refused: a decompression bomb must not take the bot down. */
export const MAX_INPUT_PIXELS = 40_000_000;

/** An uploaded picture, checked and normalized to PNG (first frame, EXIF rotation applied). */
export async function uploadToPng(data: Buffer): Promise<Buffer> {
  if (data.length === 0) throw new Error('the file is empty');
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch {
    throw new Error('it is not an image I can read');
  }
  if (!meta.width || !meta.height) throw new Error('it is not an image I can read');
  if (meta.width * meta.height > MAX_INPUT_PIXELS) {
    throw new Error(`it is too large (${meta.width}×${meta.height} pixels)`);
  }
  try {
    return await sharp(data, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .resize(1024, 1024, { fit: 'inside', withoutEnlargement: true })
      .png()
      .toBuffer();
  } catch {
    throw new Error('the image is corrupt or truncated');
  }
}
