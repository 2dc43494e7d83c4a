import { availableParallelism } from 'node:os';
import { defaultConfigPath, readEncoderConfig } from '../../adapters/encode/onnx/index.ts';
import type { Config } from '../../bots/config.ts';

/** Input side from which a model counts as CLIP-class (224 px) rather than small (the tiny encoder's 64). */
const LARGE_MODEL_INPUT = 160;

/** Copies of the model (worker threads) and onnxruntime threads per copy. */
export interface EncoderLayout {
  threads: number;
  workers: number;
}

/**
 * How indexing runs the model when neither ENCODER_THREADS nor ENCODER_WORKERS is set. A
 * CLIP-class model is nearly all of the work, so it gets every core, as two copies sharing them:
 * decoding preempts an inference thread now and then, and with two copies that delays one run
 * instead of a whole parallel step (measured: 2 × 1 thread beats 1 × 2 on two cores). With a small
 * model decoding is most of the work and needs the other cores, so inference gets one thread
 * (`npm run bench:index`; docs/indexing.md).
 */
export async function indexingEncoderLayout(config: Config): Promise<EncoderLayout> {
  if (config.ENCODER_THREADS || config.ENCODER_WORKERS) {
    return { threads: config.ENCODER_THREADS || 1, workers: config.ENCODER_WORKERS || 1 };
  }
  const encoder = await readEncoderConfig(config.ENCODER_CONFIG ?? defaultConfigPath(config.ENCODER_MODEL));
  if (encoder.preprocessing.size < LARGE_MODEL_INPUT) return { threads: 1, workers: 1 };
  const cores = availableParallelism();
  return cores === 1 ? { threads: 1, workers: 1 } : { threads: Math.floor(cores / 2), workers: 2 };
}
