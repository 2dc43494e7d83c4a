export {
  type CappedDownloadOptions,
  DownloadStatusError,
  DownloadTooLargeError,
  downloadCapped,
} from './download.ts';
export {
  BadResponseError,
  classify,
  describeFailure,
  type Failure,
  type FailureKind,
  HttpStatusError,
  isRetryable,
  networkCode,
  ProviderError,
  parseRetryAfter,
  sanitize,
  withProvider,
} from './errors.ts';
export {
  abortableSleep,
  type GateLimits,
  type GateOptions,
  type GateStats,
  ProviderGate,
  type RetryInfo,
  type RunOptions,
} from './gate.ts';
export {
  DEFAULT_MAX_IMAGE_BYTES,
  decodeBase64,
  decodeDataUri,
  downloadImage,
  ImageTooLargeError,
  toPng,
} from './images.ts';
export {
  chatCost,
  DEFAULT_PRICES,
  imageCost,
  type ModelPrice,
  type PriceTable,
  parsePriceTable,
  priceTable,
  priceTableSchema,
} from './prices.ts';
