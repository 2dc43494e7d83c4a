export {
  type AssetMetadata,
  boundedMetadata,
  HEADER_RECORD_ID,
  MAX_BATCH_VECTORS,
  MAX_METADATA_BYTES,
  MAX_REQUEST_BYTES,
  PineconeIndex,
  type PineconeIndexOptions,
  type PineconeUpsertItem,
  packBatches,
} from './pinecone-index.ts';
export {
  createRetryingFetch,
  defaultLimiter,
  parseRetryAfter,
  RequestTimeoutError,
  type RetryInfo,
  type RetryingFetchOptions,
} from './transport.ts';
