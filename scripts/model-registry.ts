/** The encoder models `genir models fetch` knows (data only: `genir --help` lists their names). */
import type { Preprocessing } from '../core/ports.ts';

export type FileRole = 'vision' | 'text' | 'tokenizer' | 'tokenizer-config';

export interface ModelFileSpec {
  role: FileRole;
  /** Path in the hub repository. */
  path: string;
  /** Used instead of `path` with --quantized. */
  quantizedPath?: string;
  /** Expected size in bytes and sha256, where known (otherwise: the hub's headers, or unchecked). */
  size?: number;
  sha256?: string;
  quantizedSize?: number;
  quantizedSha256?: string;
}

export interface ModelSpec {
  name: string;
  repo: string;
  revision: string;
  description: string;
  /** Embedding size of both towers. */
  dim: number;
  preprocessing: Preprocessing;
  /** Tokens per text (CLIP: 77). */
  maxLength: number;
  files: ModelFileSpec[];
}

const CLIP_PREPROCESSING: Preprocessing = {
  size: 224,
  resize: 'shortest-crop',
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
};

/** The ONNX exports of OpenAI's CLIP by Xenova (the Transformers.js conversions). */
const clipFiles = (): ModelFileSpec[] => [
  { role: 'vision', path: 'onnx/vision_model.onnx', quantizedPath: 'onnx/vision_model_quantized.onnx' },
  { role: 'text', path: 'onnx/text_model.onnx', quantizedPath: 'onnx/text_model_quantized.onnx' },
  { role: 'tokenizer', path: 'tokenizer.json' },
  { role: 'tokenizer-config', path: 'tokenizer_config.json' },
];

export const MODEL_REGISTRY: Record<string, ModelSpec> = {
  'clip-vit-base-patch32': {
    name: 'clip-vit-base-patch32',
    repo: 'Xenova/clip-vit-base-patch32',
    revision: 'main',
    description:
      'OpenAI CLIP ViT-B/32, 512-dim; the fastest (≈ 350 MB, quantized ≈ 90 MB for the image tower)',
    dim: 512,
    preprocessing: CLIP_PREPROCESSING,
    maxLength: 77,
    files: clipFiles(),
  },
  'clip-vit-base-patch16': {
    name: 'clip-vit-base-patch16',
    repo: 'Xenova/clip-vit-base-patch16',
    revision: 'main',
    description: 'OpenAI CLIP ViT-B/16, 512-dim; finer detail, ≈ 4× the compute of B/32',
    dim: 512,
    preprocessing: CLIP_PREPROCESSING,
    maxLength: 77,
    files: clipFiles(),
  },
  'clip-vit-large-patch14': {
    name: 'clip-vit-large-patch14',
    repo: 'Xenova/clip-vit-large-patch14',
    revision: 'main',
    description: 'OpenAI CLIP ViT-L/14, 768-dim; the most accurate, ≈ 1.7 GB (GPU-class CPU time)',
    dim: 768,
    preprocessing: CLIP_PREPROCESSING,
    maxLength: 77,
    files: clipFiles(),
  },
};
