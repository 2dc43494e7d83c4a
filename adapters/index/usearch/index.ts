export { decodeHalves, encodeHalves, fromHalf, roundToHalf, toHalf } from './f16.ts';
export { CorruptIndexFileError, type UsearchDtype } from './file.ts';
export {
  DEFAULT_EXACT_BELOW,
  DEFAULT_HNSW,
  UsearchIndex,
  type UsearchIndexOptions,
  type UsearchSearchOptions,
  walPath,
} from './usearch-index.ts';
