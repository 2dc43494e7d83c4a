import { availableParallelism } from 'node:os';
import { defaultConfigPath, readEncoderConfig } from '../../adapters/encode/onnx/index.ts';
import type { Config } from '../../bots/config.ts';

/** Input side from which a model counts as CLIP-class (224 px) rather than small (the tiny encoder's 64). */
const LARGE_MODEL_INPUT = 160;

/**
 * Inference threads for indexing when ENCODER_THREADS is unset. A CLIP-class model is nearly all of
 * the work, so it gets every core; with a small model decoding is most of the work and needs the
 * other cores, so inference gets one (`npm run bench:index` measures both; docs/indexing.md).
 */
export async function indexingEncoderThreads(config: Config): Promise<number> {
  if (config.ENCODER_THREADS) return config.ENCODER_THREADS;
  const encoder = await readEncoderConfig(config.ENCODER_CONFIG ?? defaultConfigPath(config.ENCODER_MODEL));
  return encoder.preprocessing.size >= LARGE_MODEL_INPUT ? availableParallelism() : 1;
}
