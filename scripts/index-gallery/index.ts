export { registerIndexCommand, runIndexCommand, runMergeCommand } from './command.ts';
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
export { formatMergeSummary, type MergeOptions, type MergeSummary, mergeShards } from './merge.ts';
export { formatShard, inShard, parseShard, type Shard, shardOf } from './shard.ts';
