/**
 * A CLIP encoder: the image tower (OnnxImageEncoder, e.g. vision_model.onnx) plus, optionally,
 * the text tower (ClipTextEncoder, text_model.onnx + tokenizer.json) in the same embedding
 * space. The encoder id, dimension and preprocessing are the image tower's (they go into index
 * headers); the text tower only adds embedTexts for text+image fusion and word-only retrieval.
 */
import type { ImageEncoder, Preprocessing } from '../../../core/ports.ts';
import { EncoderConfigError, OnnxImageEncoder } from './encoder.ts';
import { ClipTextEncoder } from './text-encoder.ts';

export class ClipEncoder implements ImageEncoder {
  constructor(
    readonly image: OnnxImageEncoder,
    readonly text: ClipTextEncoder,
  ) {
    if (text.dim !== undefined && text.dim !== image.dim) {
      throw new EncoderConfigError(
        `the text model gives ${text.dim}-dim vectors but the image model ${image.dim}: they are not the same CLIP`,
      );
    }
  }

  get id(): string {
    return this.image.id;
  }
  get dim(): number {
    return this.image.dim;
  }
  get preprocessing(): Preprocessing {
    return this.image.preprocessing;
  }

  embedImages(images: Buffer[]): Promise<Float32Array[]> {
    return this.image.embedImages(images);
  }

  /** Preprocessed CHW tensor of n images (the gallery indexer's fast path). */
  embedTensor(tensor: Float32Array, n: number): Promise<Float32Array[]> {
    return this.image.embedTensor(tensor, n);
  }

  embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.text.embedTexts(texts);
  }

  async close(): Promise<void> {
    await Promise.all([this.image.close(), this.text.close()]);
  }
}

/** What the composition root holds: an image encoder, with a text tower when configured. */
export type LoadedEncoder = OnnxImageEncoder | ClipEncoder;

export interface LoadEncoderOptions {
  /** ENCODER_MODEL (vision_model.onnx, or the tiny scene encoder). */
  modelPath: string;
  /** ENCODER_CONFIG; default: the model path with .json. */
  configPath?: string | undefined;
  /** ENCODER_TEXT_MODEL (text_model.onnx). */
  textModelPath?: string | undefined;
  /** ENCODER_TOKENIZER; default: tokenizer.json next to the text model. */
  tokenizerPath?: string | undefined;
  /** ENCODER_THREADS (0 / undefined = onnxruntime default). */
  intraOpThreads?: number | undefined;
  /** ENCODER_WORKERS: copies of the image model (0 / undefined = one). */
  workers?: number | undefined;
}

/** Load and warm the image encoder, and the text tower when a text model is given. */
export async function loadImageEncoder(options: LoadEncoderOptions): Promise<LoadedEncoder> {
  const threads = options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {};
  const image = await OnnxImageEncoder.load({
    modelPath: options.modelPath,
    ...(options.configPath ? { configPath: options.configPath } : {}),
    ...threads,
    ...(options.workers ? { workers: options.workers } : {}),
  });
  if (!options.textModelPath) return image;
  let text: ClipTextEncoder;
  try {
    text = await ClipTextEncoder.load({
      modelPath: options.textModelPath,
      tokenizerPath: options.tokenizerPath,
      intraOpThreads: options.intraOpThreads,
    });
  } catch (err) {
    await image.close().catch(() => {});
    throw err;
  }
  try {
    return new ClipEncoder(image, text);
  } catch (err) {
    await Promise.all([image.close().catch(() => {}), text.close().catch(() => {})]);
    throw err;
  }
}
