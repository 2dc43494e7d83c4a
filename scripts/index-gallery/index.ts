export { registerIndexCommand, runIndexCommand } from './command.ts';
export {
  type BadFile,
  DEFAULT_DOWNLOAD_TIMEOUT_MS,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  defaultBatchSize,
  formatSummary,
  type IndexRunOptions,
  type IndexSummary,
  indexGallery,
  type TensorEncoder,
} from './indexer.ts';
export {
  type GalleryIndex,
  type IndexKind,
  type IndexSettings,
  indexSettingsFromConfig,
  type OpenedGallery,
  openGalleryIndex,
  openIndexedGallery,
} from './open.ts';
export { findGalleryDir, GALLERIES_DIR, galleryNameFor, galleryPaths } from './store.ts';
