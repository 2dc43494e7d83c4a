import { buildOnnxModel } from '../adapters/encode/onnx/graph-builder.ts';
import * as ort from 'onnxruntime-node';
const bytes = buildOnnxModel({ name: 't', inputs: [{ name: 'x', dims: ['N', 4] }], outputs: [{ name: 'y', dims: ['N', 4] }], initializers: [], nodes: [{ op: 'LpNormalization', inputs: ['x'], outputs: ['y'], attrs: { axis: 1, p: 2 } }] });
const s = await ort.InferenceSession.create(bytes);
const r = await s.run({ x: new ort.Tensor('float32', new Float32Array([0,0,0,0, 3,4,0,0]), [2,4]) });
console.log(r.y.data, s.inputMetadata, s.outputMetadata);
