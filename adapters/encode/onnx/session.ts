/**
 * What the image and the text encoders share around onnxruntime: the session (in a worker thread),
 * checking that the tensors named by the config exist, and L2-normalizing the output rows.
 *
 * onnxruntime-node runs inference on the calling JavaScript thread. Run there, a CLIP image encode
 * would stall the bot's event loop (gateway heartbeats, Slack acks) and, while indexing, the
 * completion of every decode waiting to hand its thread the next file. So each session lives in its
 * own worker thread and the main thread only posts tensors to it.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

type Feed = Pick<ort.Tensor, 'type' | 'data' | 'dims'>;

interface Pending {
  resolve: (outputs: Record<string, ort.Tensor>) => void;
  reject: (err: Error) => void;
}

/** The part of an onnxruntime InferenceSession the encoders use, served by a worker thread. */
export class ModelSession {
  private readonly pending = new Map<number, Pending>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 0;
  private stopped: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[],
    what: string,
  ) {
    worker.on('message', (m: WorkerReply) => {
      if (m.kind !== 'result' && m.kind !== 'error') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.kind === 'error') p.reject(new Error(m.message));
      else
        p.resolve(
          Object.fromEntries(
            Object.entries(m.outputs).map(([name, o]) => [
              name,
              new ort.Tensor(o.type as 'float32', o.data as Float32Array, o.dims),
            ]),
          ),
        );
    });
    const stop = (err: Error) => {
      this.stopped ??= err;
      for (const p of this.pending.values()) p.reject(this.stopped);
      this.pending.clear();
    };
    worker.on('error', (err) => stop(new Error(`the ${what} worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => stop(new Error(`the ${what} worker stopped (exit code ${code})`)));
    // Idle, the worker does not keep the process alive; a run in flight does.
    worker.unref();
  }

  /**
   * Load `modelPath` (whole-graph optimization, sequential, one inter-op thread) in a new worker.
   * Idle intra-op threads sleep instead of spinning: the cores are shared with decoding and with
   * the bot, and a spinning thread only delays them (`npm run bench:index`: +8% images/s with CLIP).
   * `what` names the model in errors ("model", "text model").
   */
  static async create(modelPath: string, what: string, intraOpThreads?: number): Promise<ModelSession> {
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
    };
    const worker = new Worker(new URL('./session-worker.mjs', import.meta.url), {
      workerData: { modelPath, options },
    });
    const first = await new Promise<WorkerReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch((err: Error) => ({ kind: 'failed', message: err.message }) as const);
    if (first.kind !== 'ready') {
      await worker.terminate();
      const reason = first.kind === 'failed' ? first.message : 'unexpected first message';
      throw new Error(`cannot load ONNX ${what} ${modelPath}: ${reason}`);
    }
    return new ModelSession(worker, first.inputNames, first.outputNames, first.inputMetadata, what);
  }

  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    const plain: Record<string, Feed> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      // A view into a larger buffer (a slice of a batch) is copied: only its own bytes travel.
      const data = (t.data as Float32Array).slice();
      plain[name] = { type: t.type, data, dims: t.dims };
      transfer.push(data.buffer as ArrayBuffer);
    }
    const run = new Promise<Record<string, ort.Tensor>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      // Runs queue up in the worker: it starts the next as soon as one ends, with no round trip.
      this.worker.postMessage({ id, feeds: plain }, transfer);
    });
    this.inFlight.add(run);
    const settled = () => this.inFlight.delete(run);
    run.then(settled, settled);
    return run;
  }

  /** Refuses new runs, lets the queued ones finish, then stops the worker. */
  async release(): Promise<void> {
    this.stopped ??= new Error('the model session is closed');
    await Promise.allSettled([...this.inFlight]);
    await this.worker.terminate();
  }
}

type WorkerReply =
  | {
      kind: 'ready';
      inputNames: string[];
      outputNames: string[];
      inputMetadata: ort.InferenceSession.ValueMetadata[];
    }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, Feed> }
  | { kind: 'error'; id: number; message: string };

/** Whether the session has the input and output the config names: a description of what is missing, or null. */
export function checkTensorNames(
  session: Pick<ModelSession, 'inputNames' | 'outputNames'>,
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
