/**
 * What the image and the text encoders share around onnxruntime: creating the session, checking
 * that the tensors named by the config exist, and L2-normalizing the output rows.
 */
import * as ort from 'onnxruntime-node';

/**
 * An inference session for `modelPath` (whole-graph optimization, sequential, one inter-op
 * thread). `what` names the model in the error when it cannot be loaded ("model", "text model").
 */
export async function createSession(
  modelPath: string,
  what: string,
  intraOpThreads?: number,
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(modelPath, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
    });
  } catch (err) {
    throw new Error(`cannot load ONNX ${what} ${modelPath}: ${(err as Error).message}`, { cause: err });
  }
}

/** Whether the session has the input and output the config names: a description of what is missing, or null. */
export function checkTensorNames(
  session: ort.InferenceSession,
  config: { inputName: string; outputName: string },
): string | null {
  if (!session.inputNames.includes(config.inputName)) {
    return `input "${config.inputName}" not found (model inputs: ${session.inputNames.join(', ') || 'none'})`;
  }
  if (!session.outputNames.includes(config.outputName)) {
    return `output "${config.outputName}" not found (model outputs: ${session.outputNames.join(', ') || 'none'})`;
  }
  return null;
}

/** `v` scaled to unit length (all zeros stay zeros); `what` names the model when `v` is not finite. */
export function l2Normalized(v: Float32Array, what: string): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!Number.isFinite(s)) throw new Error(`${what} produced a non-finite embedding`);
  const out = new Float32Array(v.length);
  if (s === 0) return out;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}
