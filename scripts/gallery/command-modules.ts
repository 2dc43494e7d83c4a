/** What `genir gallery` uses when it runs; command.ts loads it then, so `genir --help` does not. */
export { findGalleryDir, listGalleries } from '../../adapters/store/indexed-gallery.ts';
export { loadConfig } from '../../bots/config.ts';
export { openStores } from '../../bots/ports.ts';
