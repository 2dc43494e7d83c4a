/** Round pictures drawn with sharp (libvips): the default RoundPictures of every bot. */
import type { RoundPictures } from '../../../core/ports.ts';
import { uploadToPng } from './image-input.ts';
import { renderContactSheet, renderSynthetic } from './render.ts';

export const sharpPictures: RoundPictures = {
  synthetic: (input) => renderSynthetic(input),
  contactSheet: (tiles) => renderContactSheet(tiles),
  uploadToPng,
};

export { makeThumbnails, ThumbnailStore, withThumbnails } from './thumbnails.ts';
