export {
  defaultConfigPath,
  type EncoderConfig,
  EncoderConfigError,
  type OnnxEncoderOptions,
  OnnxImageEncoder,
  parseEncoderConfig,
  readEncoderConfig,
} from './encoder.ts';
export {
  DEFAULT_LIMIT_INPUT_PIXELS,
  ImageDecodeError,
  type PreprocessOptions,
  pngSize,
  preprocessImage,
  preprocessInto,
  tensorLength,
  toRgbPixels,
  validatePreprocessing,
  writeChw,
} from './preprocess.ts';
