/**
 * Small ONNX graphs with the input/output names and shapes of the Hugging Face CLIP exports,
 * so the real loading code runs without the real weights (built at test time):
 *
 *  - vision: pixel_values [N, 3, 224, 224] → image_embeds [N, dim]
 *  - text:   input_ids [N, 77] (+ attention_mask) → text_embeds [N, dim], pooled like CLIP's
 *            export: the hidden state at argmax(input_ids) (the end token), where the "hidden
 *            state" at position t is the running sum of the token embeddings up to t (a causal
 *            stand-in for the transformer). Or only last_hidden_state [N, 77, D] (no pooling).
 */
import onnxProto from 'onnx-proto';
import type { EncoderConfig } from '../../../adapters/encode/onnx/encoder.ts';
import { buildOnnxModel } from '../../../adapters/encode/onnx/graph-builder.ts';
import { createRng } from '../../../core/random.ts';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** The encoder config (the JSON next to the model) of a CLIP vision export, as buildClipVisionModel's. */
export function clipVisionConfig(id: string, dim = 512): EncoderConfig {
  return {
    id,
    dim,
    inputName: 'pixel_values',
    outputName: 'image_embeds',
    preprocessing: {
      size: 224,
      resize: 'shortest-crop',
      mean: [0.48145466, 0.4578275, 0.40821073],
      std: [0.26862954, 0.26130258, 0.27577711],
    },
  };
}

/** pixel_values [N,3,224,224] → GlobalAveragePool → Flatten → MatMul [3,dim] → image_embeds [N,dim] */
export function buildClipVisionModel(dim = 512, seed = 5): Uint8Array {
  const rng = createRng(seed);
  return buildOnnxModel({
    name: 'fake-clip-vision',
    inputs: [{ name: 'pixel_values', dims: ['batch', 3, 224, 224] }],
    outputs: [{ name: 'image_embeds', dims: ['batch', dim] }],
    initializers: [
      { name: 'proj', dims: [3, dim], data: Array.from({ length: 3 * dim }, () => rng() - 0.5) },
    ],
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixel_values'], outputs: ['pooled'] },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['flat'], attrs: { axis: 1 } },
      { op: 'MatMul', inputs: ['flat', 'proj'], outputs: ['image_embeds'] },
    ],
  });
}

export interface TextModelSpec {
  vocab: number;
  /** Hidden size and projection size. */
  hidden: number;
  dim: number;
  seqLength?: number | 'dynamic';
  idsType?: 'int64' | 'int32';
  /** Declare (and use) an attention_mask input. */
  attentionMask?: boolean;
  /** Output only last_hidden_state [N, L, hidden] (no pooling, no projection). */
  hiddenOnly?: boolean;
  seed?: number;
}

export interface TextModel {
  bytes: Uint8Array;
  embedding: Float32Array;
  projection: Float32Array;
  /** What the graph gives for these token ids (before L2 normalization). */
  expected(ids: number[]): Float32Array;
}

const floatTensor = (name: string, dims: number[], data: Float32Array) =>
  onnx.TensorProto.create({ name, dims, dataType: T.FLOAT, rawData: new Uint8Array(data.buffer.slice(0)) });
const int64Tensor = (name: string, dims: number[], values: number[]) =>
  onnx.TensorProto.create({ name, dims, dataType: T.INT64, int64Data: values });

const valueInfo = (name: string, elemType: number, dims: (number | string)[]) =>
  onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });

const node = (
  opType: string,
  input: string[],
  output: string[],
  attrs: Record<string, number | number[]> = {},
) =>
  onnx.NodeProto.create({
    opType,
    input,
    output,
    name: `${opType.toLowerCase()}_${output[0]}`,
    attribute: Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v })
        : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v }),
    ),
  });

export function buildClipTextModel(spec: TextModelSpec): TextModel {
  const rng = createRng(spec.seed ?? 11);
  const L = spec.seqLength === 'dynamic' ? 'sequence' : (spec.seqLength ?? 77);
  const depth = typeof L === 'number' ? L : 77;
  const embedding = Float32Array.from({ length: spec.vocab * spec.hidden }, () => rng() - 0.5);
  const projection = Float32Array.from({ length: spec.hidden * spec.dim }, () => rng() - 0.5);
  const idsType = spec.idsType === 'int32' ? T.INT32 : T.INT64;

  const nodes = [
    node('Gather', ['embedding', 'input_ids'], ['emb'], { axis: 0 }),
    node('CumSum', ['emb', 'seq_axis'], ['hidden']),
  ];
  const outputs = [];
  if (spec.hiddenOnly) {
    nodes.push(node('Identity', ['hidden'], ['last_hidden_state']));
    outputs.push(valueInfo('last_hidden_state', T.FLOAT, ['batch', L, spec.hidden]));
  } else {
    nodes.push(
      node('Cast', ['input_ids'], ['ids_f'], { to: T.FLOAT }),
      node('ArgMax', ['ids_f'], ['eos_pos'], { axis: 1, keepdims: 0 }),
      node('OneHot', ['eos_pos', 'depth', 'onehot_values'], ['onehot']),
      node('Unsqueeze', ['onehot', 'axis1'], ['onehot3']),
      node('MatMul', ['onehot3', 'hidden'], ['pooled3']),
      node('Squeeze', ['pooled3', 'axis1'], ['pooled']),
      node('MatMul', ['pooled', 'projection'], spec.attentionMask ? ['projected'] : ['text_embeds']),
    );
    if (spec.attentionMask) {
      nodes.push(
        node('Cast', ['attention_mask'], ['mask_f'], { to: T.FLOAT }),
        node('ReduceMax', ['mask_f'], ['any_token'], { axes: [1], keepdims: 1 }),
        node('Mul', ['projected', 'any_token'], ['text_embeds']),
      );
    }
    outputs.push(valueInfo('text_embeds', T.FLOAT, ['batch', spec.dim]));
  }
  const inputs = [valueInfo('input_ids', idsType, ['batch', L])];
  if (spec.attentionMask) inputs.push(valueInfo('attention_mask', idsType, ['batch', L]));

  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'genir-chat-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'fake-clip-text',
      node: nodes,
      initializer: [
        floatTensor('embedding', [spec.vocab, spec.hidden], embedding),
        int64Tensor('seq_axis', [], [1]),
        ...(spec.hiddenOnly
          ? []
          : [
              floatTensor('projection', [spec.hidden, spec.dim], projection),
              int64Tensor('depth', [], [depth]),
              floatTensor('onehot_values', [2], Float32Array.from([0, 1])),
              int64Tensor('axis1', [1], [1]),
            ]),
      ],
      input: inputs,
      output: outputs,
    },
  });

  const expected = (ids: number[]): Float32Array => {
    // running sum up to the end token = the first position of the largest id
    const eos = ids.indexOf(Math.max(...ids));
    const h = new Float32Array(spec.hidden);
    for (let t = 0; t <= eos; t++) {
      for (let k = 0; k < spec.hidden; k++) h[k]! += embedding[(ids[t] as number) * spec.hidden + k]!;
    }
    if (spec.hiddenOnly) return h;
    const out = new Float32Array(spec.dim);
    for (let k = 0; k < spec.hidden; k++)
      for (let j = 0; j < spec.dim; j++) out[j]! += h[k]! * projection[k * spec.dim + j]!;
    return out;
  };
  return { bytes: onnx.ModelProto.encode(model).finish(), embedding, projection, expected };
}

export function l2(v: Float32Array): Float32Array {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}
