/**
 * A very small helper for writing ONNX graphs with fixed weights (onnx-proto). Used by
 * scripts/build-tiny-encoder.ts, scripts/build-clip-shaped-encoder.ts and by tests that need a
 * CLIP-shaped stand-in model.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type AttrValue = number | number[] | string | { float: number };

export interface GraphNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | number[];
  /** Element type; default float32 (int64 for shapes and pads). */
  type?: 'float32' | 'int64';
}

export interface GraphSpec {
  name: string;
  /** Input/output tensors: float32, dims as numbers or a symbolic name (e.g. 'N'). */
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: { name: string; dims: (number | string)[] }[];
  initializers: Initializer[];
  nodes: GraphNode[];
  opset?: number;
  docString?: string;
}

function attribute(name: string, value: AttrValue): InstanceType<typeof onnx.AttributeProto> {
  const type = onnx.AttributeProto.AttributeType;
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: type.INTS, ints: value });
  if (typeof value === 'string') {
    return onnx.AttributeProto.create({ name, type: type.STRING, s: new TextEncoder().encode(value) });
  }
  if (typeof value === 'object')
    return onnx.AttributeProto.create({ name, type: type.FLOAT, f: value.float });
  if (!Number.isInteger(value)) throw new Error(`attribute ${name}: wrap floats as { float: x }`);
  return onnx.AttributeProto.create({ name, type: type.INT, i: value });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function tensor(init: Initializer) {
  const expected = init.dims.reduce((a, b) => a * b, 1);
  if (init.data.length !== expected) {
    throw new Error(`initializer ${init.name}: ${init.data.length} values for dims [${init.dims}]`);
  }
  if (init.type === 'int64') {
    return onnx.TensorProto.create({
      name: init.name,
      dims: init.dims,
      dataType: onnx.TensorProto.DataType.INT64,
      int64Data: Array.from(init.data),
    });
  }
  return onnx.TensorProto.create({
    name: init.name,
    dims: init.dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: littleEndianBytes(init.data),
  });
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ONNX raw data is little-endian float32; on a little-endian machine a Float32Array is used as is. */
function littleEndianBytes(data: Float32Array | number[]): Uint8Array {
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  if (LITTLE_ENDIAN) return new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  const bytes = new Uint8Array(f32.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < f32.length; i++) view.setFloat32(i * 4, f32[i]!, true);
  return bytes;
}

/** The newest IR version each opset range came with (onnx/docs/Versioning.md). */
function irVersionFor(opset: number): number {
  if (opset <= 13) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** Serialize a graph to ONNX model bytes (default domain opset 13 unless given, its IR version). */
export function buildOnnxModel(spec: GraphSpec): Uint8Array {
  const opset = spec.opset ?? 13;
  const model = onnx.ModelProto.create({
    irVersion: irVersionFor(opset),
    producerName: 'genir-chat',
    producerVersion: '1',
    docString: spec.docString ?? '',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: spec.name,
      node: spec.nodes.map((n, i) =>
        onnx.NodeProto.create({
          name: `${n.op.toLowerCase()}_${i}`,
          opType: n.op,
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
        }),
      ),
      initializer: spec.initializers.map(tensor),
      input: spec.inputs.map((t) => valueInfo(t.name, t.dims)),
      output: spec.outputs.map((t) => valueInfo(t.name, t.dims)),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
