/**
 * A benchmark stand-in for CLIP ViT-B/32's image tower: the same inputs, outputs, parameter count
 * and compute (about 4.4 GMACs per 224 px image), with seeded RANDOM weights — for throughput and
 * latency measurements and for the CLIP loading path where real weights cannot be downloaded. Its
 * embeddings are meaningless for retrieval. Run: `genir models build-clip-shaped` (or
 * `npm run build:clip-shaped`); writes models/clip-shaped.onnx and its encoder config
 * models/clip-shaped.json (about 350 MB: keep it out of git, models/ is ignored).
 *
 * Graph (opset 17), for an image of S px, patches of P px, width W, H = W/64 heads, L layers:
 *   tokens = Concat(cls, Transpose(Reshape(Conv_P×P/P(pixel_values)))) + pos   [N, (S/P)²+1, W]
 *   x      = LayerNorm_pre(tokens)
 *   L × pre-LN blocks:
 *     x = x + Linear_out(MultiHeadAttention(LayerNorm_1(x)))        softmax(QKᵀ/√(W/H))·V
 *     x = x + Linear_proj(QuickGELU(Linear_fc(LayerNorm_2(x))))     MLP 4W, QuickGELU(h) = h·σ(1.702h)
 *   image_embeds = LayerNorm_post(x[:, 0]) · proj                    [N, dim], not normalized
 * Weights are drawn as PyTorch initializes these layers (uniform ±1/√fan_in; LayerNorm 1 and 0).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defaultConfigPath, type EncoderConfig } from '../adapters/encode/onnx/encoder.ts';
import { buildOnnxModel, type GraphNode, type Initializer } from '../adapters/encode/onnx/graph-builder.ts';
import { createRng } from '../core/random.ts';
import { MODEL_REGISTRY } from './model-registry.ts';

export interface ClipShapedParams {
  imageSize: number;
  patch: number;
  width: number;
  layers: number;
  /** Embedding size (the projection's output). */
  dim: number;
  seed: number;
}

const VIT_B32 = MODEL_REGISTRY['clip-vit-base-patch32']!;

/** CLIP ViT-B/32's vision tower. */
export const CLIP_SHAPED_DEFAULTS: ClipShapedParams = {
  imageSize: VIT_B32.preprocessing.size,
  patch: 32,
  width: 768,
  layers: 12,
  dim: VIT_B32.dim,
  seed: 1,
};

/** Channels per attention head, as in CLIP's ViTs. */
const HEAD_WIDTH = 64;

/** A weight tensor and how its values are drawn. */
export interface WeightSpec {
  name: string;
  dims: number[];
  /** Uniform in ±bound, or every value equal to `constant`. */
  fill: { bound: number } | { constant: number };
}

function checkParams(p: ClipShapedParams): void {
  for (const key of Object.keys(CLIP_SHAPED_DEFAULTS) as (keyof ClipShapedParams)[]) {
    if (!Number.isInteger(p[key]) || p[key] < 1) throw new Error(`${key} must be a whole number ≥ 1`);
  }
  if (p.imageSize % p.patch !== 0)
    throw new Error(`image size ${p.imageSize} is not a multiple of the patch size ${p.patch}`);
  if (p.width % HEAD_WIDTH !== 0) throw new Error(`width ${p.width} is not a multiple of ${HEAD_WIDTH}`);
}

/** The model's weights (every initializer), in graph order. */
export function clipShapedWeights(p: ClipShapedParams): WeightSpec[] {
  checkParams(p);
  const W = p.width;
  const tokens = (p.imageSize / p.patch) ** 2 + 1;
  const uniform = (name: string, dims: number[], fanIn: number): WeightSpec => ({
    name,
    dims,
    fill: { bound: 1 / Math.sqrt(fanIn) },
  });
  const layerNorm = (name: string): WeightSpec[] => [
    { name: `${name}_scale`, dims: [W], fill: { constant: 1 } },
    { name: `${name}_bias`, dims: [W], fill: { constant: 0 } },
  ];
  const linear = (name: string, inputs: number, outputs: number): WeightSpec[] => [
    uniform(`${name}_w`, [inputs, outputs], inputs),
    uniform(`${name}_b`, [outputs], inputs),
  ];
  const weights: WeightSpec[] = [
    uniform('patch_w', [W, 3, p.patch, p.patch], 3 * p.patch * p.patch),
    // randn·W^-½ and randn·0.01 in CLIP; uniform with the same standard deviation here
    { name: 'cls', dims: [1, 1, W], fill: { bound: Math.sqrt(3 / W) } },
    { name: 'pos', dims: [tokens, W], fill: { bound: Math.sqrt(3) * 0.01 } },
    ...layerNorm('ln_pre'),
  ];
  for (let i = 0; i < p.layers; i++) {
    weights.push(
      ...layerNorm(`b${i}_ln_1`),
      ...linear(`b${i}_qkv`, W, 3 * W),
      ...linear(`b${i}_out`, W, W),
      ...layerNorm(`b${i}_ln_2`),
      ...linear(`b${i}_fc`, W, 4 * W),
      ...linear(`b${i}_proj`, 4 * W, W),
    );
  }
  weights.push(...layerNorm('ln_post'), uniform('head_w', [W, p.dim], W));
  return weights;
}

export function parameterCount(weights: readonly { dims: number[] }[]): number {
  return weights.reduce((sum, w) => sum + w.dims.reduce((a, b) => a * b, 1), 0);
}

/** Draw every weight from one seeded stream, in order. */
function materialize(weights: WeightSpec[], seed: number): Initializer[] {
  const rng = createRng(seed);
  return weights.map(({ name, dims, fill }) => {
    const data = new Float32Array(parameterCount([{ dims }]));
    if ('constant' in fill) data.fill(fill.constant);
    else for (let i = 0; i < data.length; i++) data[i] = (2 * rng() - 1) * fill.bound;
    return { name, dims, data };
  });
}

/** Constants are nodes, not initializers: the initializers are exactly the parameters. */
const ints = (name: string, values: number[]): GraphNode => ({
  op: 'Constant',
  inputs: [],
  outputs: [name],
  attrs: { value_ints: values },
});
const float = (name: string, value: number): GraphNode => ({
  op: 'Constant',
  inputs: [],
  outputs: [name],
  attrs: { value_float: { float: value } },
});

function clipShapedNodes(p: ClipShapedParams): GraphNode[] {
  const W = p.width;
  const heads = W / HEAD_WIDTH;
  const layerNorm = (input: string, name: string, output: string): GraphNode => ({
    op: 'LayerNormalization',
    inputs: [input, `${name}_scale`, `${name}_bias`],
    outputs: [output],
    attrs: { axis: -1, epsilon: { float: 1e-5 } },
  });
  const linear = (input: string, name: string, output: string): GraphNode[] => [
    { op: 'MatMul', inputs: [input, `${name}_w`], outputs: [`${output}_mm`] },
    { op: 'Add', inputs: [`${output}_mm`, `${name}_b`], outputs: [output] },
  ];
  const nodes: GraphNode[] = [
    ints('tokens_shape', [0, W, -1]),
    ints('heads_shape', [0, 0, heads, HEAD_WIDTH]),
    ints('merge_shape', [0, 0, W]),
    ints('ones_2', [1, 1]),
    { op: 'Constant', inputs: [], outputs: ['first'], attrs: { value_int: 0 } },
    float('attn_scale', 1 / Math.sqrt(HEAD_WIDTH)),
    float('gelu_k', 1.702),
    // patch embedding: [N, W, S/P, S/P] → [N, (S/P)², W]
    {
      op: 'Conv',
      inputs: ['pixel_values', 'patch_w'],
      outputs: ['patch_grid'],
      attrs: { kernel_shape: [p.patch, p.patch], strides: [p.patch, p.patch] },
    },
    { op: 'Reshape', inputs: ['patch_grid', 'tokens_shape'], outputs: ['patch_rows'] },
    { op: 'Transpose', inputs: ['patch_rows'], outputs: ['patches'], attrs: { perm: [0, 2, 1] } },
    // one class token per image: cls [1, 1, W] expanded to [N, 1, W]
    { op: 'Shape', inputs: ['pixel_values'], outputs: ['batch'], attrs: { start: 0, end: 1 } },
    { op: 'Concat', inputs: ['batch', 'ones_2'], outputs: ['cls_shape'], attrs: { axis: 0 } },
    { op: 'Expand', inputs: ['cls', 'cls_shape'], outputs: ['cls_tokens'] },
    { op: 'Concat', inputs: ['cls_tokens', 'patches'], outputs: ['tokens'], attrs: { axis: 1 } },
    { op: 'Add', inputs: ['tokens', 'pos'], outputs: ['embedded'] },
    layerNorm('embedded', 'ln_pre', 'x0'),
  ];
  const splitHeads = (input: string, output: string, perm: number[]): GraphNode[] => [
    { op: 'Reshape', inputs: [input, 'heads_shape'], outputs: [`${output}_4d`] },
    { op: 'Transpose', inputs: [`${output}_4d`], outputs: [output], attrs: { perm } },
  ];
  for (let i = 0; i < p.layers; i++) {
    const b = `b${i}`;
    const x = `x${i}`;
    nodes.push(
      layerNorm(x, `${b}_ln_1`, `${b}_h`),
      ...linear(`${b}_h`, `${b}_qkv`, `${b}_qkv`),
      { op: 'Split', inputs: [`${b}_qkv`], outputs: [`${b}_q`, `${b}_k`, `${b}_v`], attrs: { axis: -1 } },
      ...splitHeads(`${b}_q`, `${b}_qh`, [0, 2, 1, 3]), // [N, H, T, 64]
      ...splitHeads(`${b}_k`, `${b}_kt`, [0, 2, 3, 1]), // [N, H, 64, T]
      ...splitHeads(`${b}_v`, `${b}_vh`, [0, 2, 1, 3]),
      { op: 'MatMul', inputs: [`${b}_qh`, `${b}_kt`], outputs: [`${b}_scores`] },
      { op: 'Mul', inputs: [`${b}_scores`, 'attn_scale'], outputs: [`${b}_scaled`] },
      { op: 'Softmax', inputs: [`${b}_scaled`], outputs: [`${b}_attn`], attrs: { axis: -1 } },
      { op: 'MatMul', inputs: [`${b}_attn`, `${b}_vh`], outputs: [`${b}_ctx_heads`] },
      {
        op: 'Transpose',
        inputs: [`${b}_ctx_heads`],
        outputs: [`${b}_ctx_4d`],
        attrs: { perm: [0, 2, 1, 3] },
      },
      { op: 'Reshape', inputs: [`${b}_ctx_4d`, 'merge_shape'], outputs: [`${b}_ctx`] },
      ...linear(`${b}_ctx`, `${b}_out`, `${b}_attn_out`),
      { op: 'Add', inputs: [x, `${b}_attn_out`], outputs: [`${b}_mid`] },
      layerNorm(`${b}_mid`, `${b}_ln_2`, `${b}_h2`),
      ...linear(`${b}_h2`, `${b}_fc`, `${b}_fc_out`),
      { op: 'Mul', inputs: [`${b}_fc_out`, 'gelu_k'], outputs: [`${b}_gelu_in`] },
      { op: 'Sigmoid', inputs: [`${b}_gelu_in`], outputs: [`${b}_gelu_gate`] },
      { op: 'Mul', inputs: [`${b}_fc_out`, `${b}_gelu_gate`], outputs: [`${b}_gelu`] },
      ...linear(`${b}_gelu`, `${b}_proj`, `${b}_mlp_out`),
      { op: 'Add', inputs: [`${b}_mid`, `${b}_mlp_out`], outputs: [`x${i + 1}`] },
    );
  }
  nodes.push(
    { op: 'Gather', inputs: [`x${p.layers}`, 'first'], outputs: ['cls_out'], attrs: { axis: 1 } },
    layerNorm('cls_out', 'ln_post', 'pooled'),
    { op: 'MatMul', inputs: ['pooled', 'head_w'], outputs: ['image_embeds'] },
  );
  return nodes;
}

export function clipShapedConfig(p: ClipShapedParams): EncoderConfig {
  return {
    id: `clip-shaped-random-${p.layers}x${p.width}-p${p.patch}-${p.imageSize}px-d${p.dim}-seed${p.seed}`,
    dim: p.dim,
    inputName: 'pixel_values',
    outputName: 'image_embeds',
    preprocessing: { ...VIT_B32.preprocessing, size: p.imageSize },
  };
}

export function buildClipShapedEncoder(p: ClipShapedParams = CLIP_SHAPED_DEFAULTS): {
  model: Uint8Array;
  config: EncoderConfig;
  parameters: number;
} {
  const weights = clipShapedWeights(p);
  const config = clipShapedConfig(p);
  const model = buildOnnxModel({
    name: config.id,
    docString: 'genir-chat CLIP ViT-shaped image tower with random weights (benchmarks only)',
    opset: 17,
    inputs: [{ name: 'pixel_values', dims: ['batch', 3, p.imageSize, p.imageSize] }],
    outputs: [{ name: 'image_embeds', dims: ['batch', p.dim] }],
    initializers: materialize(weights, p.seed),
    nodes: clipShapedNodes(p),
  });
  return { model, config, parameters: parameterCount(weights) };
}

/** Build and write the model and, next to it (x.onnx → x.json), its encoder config. */
export async function writeClipShapedEncoder(
  out: string,
  p: ClipShapedParams = CLIP_SHAPED_DEFAULTS,
): Promise<{ configPath: string; bytes: number; parameters: number; config: EncoderConfig }> {
  if (!/\.onnx$/i.test(out)) throw new Error(`--out must name an .onnx file, not ${out}`);
  const { model, config, parameters } = buildClipShapedEncoder(p);
  const configPath = defaultConfigPath(out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, model);
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { configPath, bytes: model.length, parameters, config };
}

/** `genir models build-clip-shaped`: build (defaults for what is not given), write, say what was written. */
export async function buildClipShapedCommand(out: string, given: Partial<ClipShapedParams>): Promise<string> {
  const p = { ...CLIP_SHAPED_DEFAULTS };
  for (const [key, value] of Object.entries(given))
    if (value !== undefined) p[key as keyof ClipShapedParams] = value;
  const t0 = performance.now();
  const built = await writeClipShapedEncoder(out, p);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  return (
    `Wrote ${out} (${(built.bytes / 1e6).toFixed(1)} MB, ${(built.parameters / 1e6).toFixed(2)}M parameters, ` +
    `${built.config.dim}-dim, ${seconds} s) and ${built.configPath}.\n` +
    `Benchmark it with ENCODER_MODEL=${out} npm run bench:index -- --images 256 --out out/bench/clip`
  );
}
