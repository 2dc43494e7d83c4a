/** Round pictures drawn with sharp (libvips): the default RoundPictures of every bot. */
import sharp from 'sharp';
import type { RoundPictures } from '../../../core/ports.ts';
import { uploadToPng } from './image-input.ts';
import { renderContactSheet, renderSynthetic } from './render.ts';

/**
 * Draws a tiny round's pictures once, so the first real round does not also pay for starting
 * libvips and loading the fonts (fontconfig, pango, librsvg: a few hundred ms in a new process).
 */
export async function warmUpPictures(): Promise<void> {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000000' } })
    .png()
    .toBuffer();
  await Promise.all([
    renderSynthetic({ png, query: 'warm-up', roundNumber: 1 }),
    renderContactSheet([{ n: 1, png, label: 'warm-up' }]),
  ]);
}

export const sharpPictures: RoundPictures = {
  synthetic: (input) => renderSynthetic(input),
  contactSheet: (tiles) => renderContactSheet(tiles),
  uploadToPng,
};

export { makeThumbnails, ThumbnailStore, withThumbnails } from './thumbnails.ts';
