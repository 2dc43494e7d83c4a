/**
 * Image encoder over onnxruntime-node. One code path for the embedded tiny encoder
 * (models/tiny-encoder.onnx) and real CLIP ONNX exports: a JSON config next to the model
 * names the input/output tensors, the embedding size and the preprocessing.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ImageEncoder, Preprocessing } from '../../../core/ports.ts';
import {
  DEFAULT_LIMIT_INPUT_PIXELS,
  ImageDecodeError,
  preprocessInto,
  tensorLength,
  validatePreprocessing,
} from './preprocess.ts';
import { checkTensorNames, l2Normalized, ModelSession } from './session.ts';

export interface EncoderConfig {
  id: string;
  dim: number;
  inputName: string;
  outputName: string;
  preprocessing: Preprocessing;
}

const triple = z.tuple([z.number(), z.number(), z.number()]);

const configSchema = z.object({
  id: z.string().min(1),
  dim: z.number().int().positive(),
  inputName: z.string().min(1),
  outputName: z.string().min(1),
  preprocessing: z.object({
    size: z.number().int().min(8).max(2048),
    resize: z.enum(['stretch', 'shortest-crop']),
    mean: triple,
    std: triple,
  }),
});

export class EncoderConfigError extends Error {
  override readonly name = 'EncoderConfigError';
}

/** Validate an encoder config object (e.g. parsed JSON); `source` names it in errors. */
export function parseEncoderConfig(value: unknown, source = 'encoder config'): EncoderConfig {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new EncoderConfigError(`${source} is invalid: ${issues}`);
  }
  const config = parsed.data as EncoderConfig;
  try {
    validatePreprocessing(config.preprocessing);
  } catch (err) {
    throw new EncoderConfigError(`${source} is invalid: preprocessing: ${(err as Error).message}`);
  }
  return config;
}

/** Read and validate a config JSON file. */
export async function readEncoderConfig(path: string): Promise<EncoderConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EncoderConfigError(`cannot read encoder config ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new EncoderConfigError(`encoder config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseEncoderConfig(json, `encoder config ${path}`);
}

/** models/x.onnx → models/x.json */
export function defaultConfigPath(modelPath: string): string {
  return `${modelPath.replace(/\.onnx$/i, '')}.json`;
}

export interface OnnxEncoderOptions {
  modelPath: string;
  /** Defaults to the model path with .onnx replaced by .json. */
  configPath?: string;
  /** Use this config instead of reading configPath. */
  config?: EncoderConfig;
  /** onnxruntime intra-op threads per model copy (0 / undefined = runtime default). */
  intraOpThreads?: number;
  /** Copies of the model, each in its own worker thread (default 1; see ModelSessionOptions). */
  workers?: number;
  /** Images per inference call (default 32). */
  batchSize?: number;
  /** sharp decompression-bomb guard (default 40 MP). */
  limitInputPixels?: number;
  /** Run one dummy batch at load to verify the output shape (default true). */
  warmup?: boolean;
}

export class OnnxImageEncoder implements ImageEncoder {
  readonly id: string;
  readonly dim: number;
  readonly preprocessing: Preprocessing;
  readonly config: EncoderConfig;
  readonly batchSize: number;
  private readonly session: ModelSession;
  private readonly limitInputPixels: number;

  private constructor(session: ModelSession, config: EncoderConfig, options: OnnxEncoderOptions) {
    this.session = session;
    this.config = config;
    this.id = config.id;
    this.dim = config.dim;
    this.preprocessing = config.preprocessing;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 32));
    this.limitInputPixels = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  }

  static async load(options: OnnxEncoderOptions): Promise<OnnxImageEncoder> {
    const config = options.config
      ? parseEncoderConfig(options.config)
      : await readEncoderConfig(options.configPath ?? defaultConfigPath(options.modelPath));
    const session = await ModelSession.create(options.modelPath, 'model', {
      ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
      ...(options.workers ? { workers: options.workers } : {}),
    });
    const problem = checkSession(session, config);
    if (problem) {
      await session.release().catch(() => {});
      throw new EncoderConfigError(`model ${options.modelPath} does not match its config: ${problem}`);
    }
    const encoder = new OnnxImageEncoder(session, config, options);
    if (options.warmup ?? true) {
      try {
        await encoder.warmup();
      } catch (err) {
        await session.release().catch(() => {});
        throw err;
      }
    }
    return encoder;
  }

  /** Run one dummy (mid-gray) image through the model; verifies the output dimension. */
  async warmup(): Promise<void> {
    const input = new Float32Array(tensorLength(this.preprocessing));
    await this.infer(input, 1);
  }

  async embedImages(images: Buffer[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    if (images.length === 0) return out;
    const per = tensorLength(this.preprocessing);
    const prepare = async (start: number): Promise<{ tensor: Float32Array; n: number }> => {
      const n = Math.min(this.batchSize, images.length - start);
      const tensor = new Float32Array(per * n);
      const jobs: Promise<void>[] = [];
      for (let j = 0; j < n; j++) {
        const index = start + j;
        jobs.push(
          preprocessInto(images[index] as Buffer, this.preprocessing, tensor, j * per, index, {
            limitInputPixels: this.limitInputPixels,
          }),
        );
      }
      await settleAllOrThrowFirst(jobs);
      return { tensor, n };
    };
    let next = prepare(0);
    for (let start = 0; start < images.length; start += this.batchSize) {
      const batch = await next;
      const following = start + this.batchSize;
      if (following < images.length) {
        next = prepare(following);
        next.catch(() => {}); // observed below; avoid an unhandled rejection if inference fails first
      }
      const rows = await this.infer(batch.tensor, batch.n);
      for (const row of rows) out.push(row);
    }
    return out;
  }

  /** Embed an already preprocessed CHW tensor of n images (n × 3 × S × S floats). */
  async embedTensor(tensor: Float32Array, n: number): Promise<Float32Array[]> {
    if (tensor.length !== n * tensorLength(this.preprocessing)) {
      throw new Error(
        `tensor has ${tensor.length} floats, expected ${n} × ${tensorLength(this.preprocessing)}`,
      );
    }
    return this.infer(tensor, n);
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private async infer(data: Float32Array, n: number): Promise<Float32Array[]> {
    const { size } = this.preprocessing;
    const input = { type: 'float32', data, dims: [n, 3, size, size] } as const;
    const results = await this.session.run({ [this.config.inputName]: input });
    const output = results[this.config.outputName];
    if (!output) throw new Error(`model produced no output "${this.config.outputName}"`);
    if (output.type !== 'float32') {
      throw new Error(
        `encoder ${this.id}: output "${this.config.outputName}" is ${output.type}, expected float32`,
      );
    }
    const dims = output.dims;
    if (dims.length !== 2 || dims[0] !== n || dims[1] !== this.dim) {
      throw new Error(
        `encoder ${this.id}: output "${this.config.outputName}" has shape [${dims.join(', ')}], ` +
          `config says [${n}, ${this.dim}]`,
      );
    }
    const values = output.data as Float32Array;
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++)
      rows.push(l2Normalized(values.subarray(i * this.dim, (i + 1) * this.dim), 'encoder'));
    return rows;
  }
}

/** Returns a description of the first mismatch between the session and the config, or null. */
function checkSession(session: ModelSession, config: EncoderConfig): string | null {
  const missing = checkTensorNames(session, config);
  if (missing) return missing;
  const meta = session.inputMetadata?.find((m) => m.name === config.inputName);
  if (meta?.isTensor) {
    if (meta.type !== 'float32') return `input "${config.inputName}" is ${meta.type}, expected float32`;
    const { size } = config.preprocessing;
    const want = [null, 3, size, size];
    if (meta.shape.length > 0) {
      const ok =
        meta.shape.length === 4 &&
        meta.shape.every((d, i) => typeof d !== 'number' || i === 0 || d === want[i]);
      if (!ok)
        return `input "${config.inputName}" has shape [${meta.shape.join(', ')}], config expects [N, 3, ${size}, ${size}]`;
    }
  }
  return null;
}

/** Wait for every job (so none is left running), then throw the error of the lowest-index failure. */
async function settleAllOrThrowFirst(jobs: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(jobs);
  for (const r of results) {
    if (r.status === 'rejected')
      throw r.reason instanceof Error ? r.reason : new ImageDecodeError(-1, String(r.reason));
  }
}
