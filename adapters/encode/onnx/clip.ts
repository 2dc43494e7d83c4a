/**
 * A CLIP encoder: the image tower (OnnxImageEncoder, e.g. vision_model.onnx) plus, optionally,
 * the text tower (ClipTextEncoder, text_model.onnx + tokenizer.json) in the same embedding
 * space. The encoder id, dimension and preprocessing are the image tower's (they go into index
 * headers); the text tower only adds embedTexts for text+image fusion and word-only retrieval.
 */
import type { ImageEncoder, Preprocessing } from '../../../core/ports.ts';
import { EncoderConfigError, type OnnxEncoderOptions, OnnxImageEncoder } from './encoder.ts';
import { ClipTextEncoder, type ClipTextEncoderOptions } from './text-encoder.ts';

export class ClipEncoder implements ImageEncoder {
  /** Loads and warms both towers; a tower that fails to load closes the other. */
  static async load(options: {
    image: OnnxEncoderOptions;
    text: ClipTextEncoderOptions;
  }): Promise<ClipEncoder> {
    const image = await OnnxImageEncoder.load(options.image);
    let text: ClipTextEncoder;
    try {
      text = await ClipTextEncoder.load(options.text);
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
