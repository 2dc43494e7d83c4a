/**
 * CLIP text tower over onnxruntime-node, for text+image score fusion (TEXT_WEIGHT) and for
 * retrieving by words when a round could not be drawn.
 *
 * Tokenization is Hugging Face's own tokenizer.json, run by @huggingface/tokenizers (CLIP's
 * lower-casing normalizer, regex split, byte-level BPE with "</w>" word ends, and the
 * <|startoftext|> … <|endoftext|> template). Sequences are truncated to 77 tokens keeping the
 * end token, and padded to 77. CLIP pools the hidden state at the end token: exports that do
 * it themselves (the usual `text_embeds` output, [N, D]) find it by argmax / first eos of
 * input_ids, which holds since the end token is the first and largest id of the padded row;
 * for exports that only give `last_hidden_state` ([N, L, D]) we take the row at the end token.
 * Output vectors are L2-normalized. The session is created once and warmed at load.
 */
import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { defaultConfigPath, EncoderConfigError } from './encoder.ts';
import { checkTensorNames, type Feed, l2Normalized, ModelSession } from './session.ts';

export interface TextEncoderConfig {
  /** Shown in logs; default "<file name>". */
  id?: string | undefined;
  /** Embedding size; checked against the model's output at warm-up. */
  dim?: number | undefined;
  inputName: string;
  /** Fed only when the model has this input. */
  attentionMaskName: string;
  outputName: string;
  /** Tokens per sequence, special tokens included (CLIP: 77). */
  maxLength: number;
}

export const CLIP_TEXT_DEFAULTS: TextEncoderConfig = {
  inputName: 'input_ids',
  attentionMaskName: 'attention_mask',
  outputName: 'text_embeds',
  maxLength: 77,
};

const textConfigSchema = z.object({
  id: z.string().min(1).optional(),
  dim: z.number().int().positive().optional(),
  inputName: z.string().min(1).default(CLIP_TEXT_DEFAULTS.inputName),
  attentionMaskName: z.string().min(1).default(CLIP_TEXT_DEFAULTS.attentionMaskName),
  outputName: z.string().min(1).default(CLIP_TEXT_DEFAULTS.outputName),
  maxLength: z.number().int().min(2).max(4096).default(CLIP_TEXT_DEFAULTS.maxLength),
});

export function parseTextEncoderConfig(value: unknown, source = 'text encoder config'): TextEncoderConfig {
  const parsed = textConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new EncoderConfigError(`${source} is invalid: ${issues}`);
  }
  return parsed.data;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EncoderConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EncoderConfigError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export interface TokenizedBatch {
  ids: number[][];
  masks: number[][];
  /** Position of the end token in each row. */
  eos: number[];
}

/** tokenizer.json (+ tokenizer_config.json) → fixed-length CLIP token rows. */
export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly maxLength: number;
  private readonly tokenizer: Tokenizer;

  constructor(tokenizerJson: object, tokenizerConfig: Record<string, unknown>, maxLength: number) {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new EncoderConfigError(`tokenizer.json could not be loaded: ${(err as Error).message}`);
    }
    this.maxLength = maxLength;
    const id = (key: string, fallback: string): number => {
      const value = tokenizerConfig[key];
      const content =
        typeof value === 'string'
          ? value
          : value && typeof value === 'object'
            ? (value as { content?: string }).content
            : undefined;
      const found = this.tokenizer.token_to_id(content ?? fallback);
      if (found === undefined)
        throw new EncoderConfigError(`tokenizer has no ${key} "${content ?? fallback}"`);
      return found;
    };
    this.bosId = id('bos_token', '<|startoftext|>');
    this.eosId = id('eos_token', '<|endoftext|>');
    this.padId = tokenizerConfig.pad_token ? id('pad_token', '<|endoftext|>') : this.eosId;
  }

  static async load(tokenizerPath: string, maxLength = 77): Promise<ClipTokenizer> {
    const json = await readJson(tokenizerPath, 'tokenizer');
    const configPath = join(dirname(tokenizerPath), 'tokenizer_config.json');
    const config = (await exists(configPath)) ? await readJson(configPath, 'tokenizer config') : {};
    if (!json || typeof json !== 'object')
      throw new EncoderConfigError(`tokenizer ${tokenizerPath} is not an object`);
    return new ClipTokenizer(json, (config ?? {}) as Record<string, unknown>, maxLength);
  }

  /** Token strings of a text (without the start/end tokens): for tests and debugging. */
  tokens(text: string): string[] {
    return this.tokenizer.tokenize(text);
  }

  /** Start + tokens + end, truncated to maxLength keeping the end token. */
  ids(text: string): number[] {
    let ids = this.tokenizer.encode(text).ids;
    if (ids[0] !== this.bosId) ids = [this.bosId, ...ids];
    if (ids.at(-1) !== this.eosId) ids = [...ids, this.eosId];
    if (ids.length > this.maxLength) ids = [...ids.slice(0, this.maxLength - 1), this.eosId];
    return ids;
  }

  /** Rows padded to maxLength with the pad token; mask 1 on real tokens. */
  batch(texts: string[]): TokenizedBatch {
    const out: TokenizedBatch = { ids: [], masks: [], eos: [] };
    for (const text of texts) {
      const ids = this.ids(text);
      out.eos.push(ids.length - 1);
      out.masks.push([...ids.map(() => 1), ...new Array<number>(this.maxLength - ids.length).fill(0)]);
      out.ids.push([...ids, ...new Array<number>(this.maxLength - ids.length).fill(this.padId)]);
    }
    return out;
  }
}

export interface ClipTextEncoderOptions {
  modelPath: string;
  /** Default: tokenizer.json next to the model, else in the folder above (HF layout: onnx/…). */
  tokenizerPath?: string | undefined;
  /** Default: the model path with .json, when that file exists; CLIP defaults otherwise. */
  configPath?: string | undefined;
  config?: Partial<TextEncoderConfig>;
  intraOpThreads?: number | undefined;
  /** Texts per inference call (default 32). */
  batchSize?: number;
  /** Run one text at load (default true): no cold first query, and the output shape is checked. */
  warmup?: boolean;
}

/** Where tokenizer.json is, given the model path. */
export async function findTokenizer(modelPath: string): Promise<string> {
  const candidates = [
    join(dirname(modelPath), 'tokenizer.json'),
    join(dirname(dirname(modelPath)), 'tokenizer.json'),
  ];
  for (const path of candidates) if (await exists(path)) return path;
  throw new EncoderConfigError(
    `no tokenizer.json next to ${modelPath}; set ENCODER_TOKENIZER (genir models fetch downloads it)`,
  );
}

export class ClipTextEncoder {
  readonly id: string;
  readonly config: TextEncoderConfig;
  readonly tokenizer: ClipTokenizer;
  private readonly session: ModelSession;
  private readonly batchSize: number;
  private readonly idsType: 'int64' | 'int32';
  private readonly feedMask: boolean;
  private dimension: number | undefined;

  private constructor(
    session: ModelSession,
    config: TextEncoderConfig,
    tokenizer: ClipTokenizer,
    options: ClipTextEncoderOptions,
  ) {
    this.session = session;
    this.config = config;
    this.tokenizer = tokenizer;
    this.id = config.id ?? options.modelPath.split(/[\\/]/).pop() ?? 'text-model';
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 32));
    this.dimension = config.dim;
    const input = session.inputMetadata.find((m) => m.name === config.inputName);
    this.idsType = input?.isTensor && input.type === 'int32' ? 'int32' : 'int64';
    this.feedMask = session.inputNames.includes(config.attentionMaskName);
  }

  static async load(options: ClipTextEncoderOptions): Promise<ClipTextEncoder> {
    const configPath = options.configPath ?? defaultConfigPath(options.modelPath);
    const fromFile =
      options.configPath || (await exists(configPath))
        ? await readJson(configPath, 'text encoder config')
        : {};
    const config = parseTextEncoderConfig(
      { ...(fromFile as object), ...options.config },
      `text encoder config ${configPath}`,
    );
    const tokenizer = await ClipTokenizer.load(
      options.tokenizerPath ?? (await findTokenizer(options.modelPath)),
      config.maxLength,
    );
    const session = await ModelSession.create(options.modelPath, 'text model', {
      ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
    });
    const problem = checkTextSession(session, config);
    if (problem) {
      await session.release().catch(() => {});
      throw new EncoderConfigError(`text model ${options.modelPath} does not match its config: ${problem}`);
    }
    const encoder = new ClipTextEncoder(session, config, tokenizer, options);
    if (options.warmup ?? true) {
      try {
        await encoder.embedTexts(['a photo']);
      } catch (err) {
        await session.release().catch(() => {});
        throw err;
      }
    }
    return encoder;
  }

  /** Embedding size (known from the config, or from the first run). */
  get dim(): number | undefined {
    return this.dimension;
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const rows = await this.infer(this.tokenizer.batch(texts.slice(start, start + this.batchSize)));
      out.push(...rows);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private tensor(rows: number[][]): Feed {
    const n = rows.length;
    const L = this.tokenizer.maxLength;
    const flat = rows.flat();
    const data =
      this.idsType === 'int32' ? Int32Array.from(flat) : BigInt64Array.from(flat, (x) => BigInt(x));
    return { type: this.idsType, data, dims: [n, L] };
  }

  private async infer(batch: TokenizedBatch): Promise<Float32Array[]> {
    const n = batch.ids.length;
    const feeds: Record<string, Feed> = { [this.config.inputName]: this.tensor(batch.ids) };
    if (this.feedMask) feeds[this.config.attentionMaskName] = this.tensor(batch.masks);
    const results = await this.session.run(feeds);
    const output = results[this.config.outputName];
    if (!output) throw new Error(`text model produced no output "${this.config.outputName}"`);
    if (output.type !== 'float32')
      throw new Error(`text output "${this.config.outputName}" is ${output.type}, expected float32`);
    const dims = output.dims;
    const values = output.data as Float32Array;
    const rows: Float32Array[] = [];
    if (dims.length === 2 && dims[0] === n) {
      const d = dims[1] as number;
      for (let i = 0; i < n; i++) rows.push(values.subarray(i * d, (i + 1) * d));
    } else if (dims.length === 3 && dims[0] === n && dims[1] === this.tokenizer.maxLength) {
      // Not pooled by the export: take the hidden state at each row's end token.
      const [, L, d] = dims as [number, number, number];
      for (let i = 0; i < n; i++) {
        const at = (i * L + (batch.eos[i] as number)) * d;
        rows.push(values.subarray(at, at + d));
      }
    } else {
      throw new Error(
        `text output "${this.config.outputName}" has shape [${dims.join(', ')}], expected [${n}, D] or [${n}, ${this.tokenizer.maxLength}, D]`,
      );
    }
    const d = rows[0]?.length ?? 0;
    if (this.dimension === undefined) this.dimension = d;
    else if (d !== this.dimension)
      throw new Error(`text model gives ${d} dims, config says ${this.dimension}`);
    return rows.map((row) => l2Normalized(row, 'text model'));
  }
}

function checkTextSession(session: ModelSession, config: TextEncoderConfig): string | null {
  const missing = checkTensorNames(session, config);
  if (missing) return missing;
  const meta = session.inputMetadata.find((m) => m.name === config.inputName);
  if (meta?.isTensor) {
    if (meta.type !== 'int64' && meta.type !== 'int32')
      return `input "${config.inputName}" is ${meta.type}, expected int64 token ids`;
    const seq = meta.shape[1];
    if (meta.shape.length === 2 && typeof seq === 'number' && seq !== config.maxLength) {
      return `input "${config.inputName}" takes ${seq} tokens, config says ${config.maxLength}`;
    }
  }
  return null;
}
