// One onnxruntime session in a worker thread (see session.ts). Plain JavaScript: the main thread's
// TypeScript loader does not apply inside workers.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

// A copy: onnxruntime's own output buffers may not be transferable.
const plain = (t) => ({ type: t.type, data: t.data.slice(), dims: t.dims });

let session;
try {
  session = await ort.InferenceSession.create(workerData.modelPath, workerData.options);
} catch (err) {
  parentPort.postMessage({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
}
if (session) {
  parentPort.postMessage({
    kind: 'ready',
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata.map((m) => ({ ...m })),
  });
  parentPort.on('message', async ({ id, feeds }) => {
    try {
      const tensors = Object.fromEntries(
        Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor(f.type, f.data, f.dims)]),
      );
      const results = await session.run(tensors);
      const outputs = Object.fromEntries(Object.entries(results).map(([name, t]) => [name, plain(t)]));
      for (const t of Object.values(results)) t.dispose();
      const buffers = Object.values(outputs).map((o) => o.data.buffer);
      parentPort.postMessage({ kind: 'result', id, outputs }, buffers);
    } catch (err) {
      parentPort.postMessage({
        kind: 'error',
        id,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  });
}
