import { ClipEncoder } from '../adapters/encode/onnx/clip.ts';
import {
  defaultConfigPath,
  type OnnxEncoderOptions,
  OnnxImageEncoder,
  readEncoderConfig,
} from '../adapters/encode/onnx/encoder.ts';
import type { ImageEncoder, IndexHeader } from '../core/ports.ts';
import type { Config } from './config.ts';

/** The image tower alone, or with the CLIP text tower in the same embedding space. */
export type LoadedEncoder = OnnxImageEncoder | ClipEncoder;

export interface EncoderLoad {
  /** Load the text tower too when ENCODER_TEXT_MODEL is set (the bot's queries; not indexing). */
  text?: boolean;
  /** onnxruntime threads per model copy; default ENCODER_THREADS. */
  threads?: number;
  /** Copies of the image model; default ENCODER_WORKERS. */
  workers?: number;
}

/** The encoder ENCODER_* describes, loaded and warmed (0 threads or workers: onnxruntime's default). */
export function loadEncoder(config: Config, options: EncoderLoad & { text: true }): Promise<LoadedEncoder>;
export function loadEncoder(
  config: Config,
  options?: EncoderLoad & { text?: false },
): Promise<OnnxImageEncoder>;
export function loadEncoder(config: Config, options: EncoderLoad = {}): Promise<LoadedEncoder> {
  const threads = options.threads ?? config.ENCODER_THREADS;
  const workers = options.workers ?? config.ENCODER_WORKERS;
  const image: OnnxEncoderOptions = {
    modelPath: config.ENCODER_MODEL,
    ...(config.ENCODER_CONFIG ? { configPath: config.ENCODER_CONFIG } : {}),
    ...(threads ? { intraOpThreads: threads } : {}),
    ...(workers ? { workers } : {}),
  };
  if (!options.text || !config.ENCODER_TEXT_MODEL) return OnnxImageEncoder.load(image);
  return ClipEncoder.load({
    image,
    text: {
      modelPath: config.ENCODER_TEXT_MODEL,
      tokenizerPath: config.ENCODER_TOKENIZER,
      intraOpThreads: threads || undefined,
    },
  });
}

/** The header of ENCODER_*'s indexes, from its config file: known before the model has loaded. */
export async function encoderHeader(config: Config): Promise<IndexHeader> {
  const c = await readEncoderConfig(config.ENCODER_CONFIG ?? defaultConfigPath(config.ENCODER_MODEL));
  return { encoderId: c.id, dim: c.dim, preprocessing: c.preprocessing };
}

/** What an index built with this encoder records (and checks when opened). */
export const headerOf = (encoder: ImageEncoder): IndexHeader => ({
  encoderId: encoder.id,
  dim: encoder.dim,
  preprocessing: encoder.preprocessing,
});
