/** What `genir index` uses when it runs; command.ts loads it then, so `genir --help` does not. */
export { jsonProgress, progressBar } from '../../adapters/progress/index.ts';
export {
  findGalleryDir,
  GALLERIES_DIR,
  shardGalleryName,
  validateGalleryName,
} from '../../adapters/store/indexed-gallery.ts';
export { loadConfig } from '../../bots/config.ts';
export { loadEncoder } from '../../bots/encoder.ts';
export { indexSettingsFromConfig } from '../../bots/vector-index.ts';
export {
  DEFAULT_DOWNLOAD_TIMEOUT_MS,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  formatSummary,
  indexGallery,
} from './indexer.ts';
export { formatMergeSummary, mergeShards } from './merge.ts';
export { indexingEncoderLayout } from './threads.ts';
