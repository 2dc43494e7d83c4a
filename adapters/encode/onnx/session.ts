/**
 * What the image and the text encoders share around onnxruntime: the session (in a worker thread),
 * checking that the tensors named by the config exist, and L2-normalizing the output rows.
 *
 * onnxruntime-node runs inference on the calling JavaScript thread. Run there, a CLIP image encode
 * would stall the bot's event loop (gateway heartbeats, Slack acks) and, while indexing, the
 * completion of every decode waiting to hand its thread the next file. So each session lives in its
 * own worker thread (or several) and the main thread only posts tensors to it — as plain
 * {type, data, dims} objects, so the main thread never loads onnxruntime's native binding.
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';

/**
 * onnxruntime-node 1.30 on Linux starts Microsoft's 1DS telemetry with its first session unless
 * ORT_DISABLE_TELEMETRY is set when that happens (the decision holds for the process). It reads
 * /proc/self/cmdline — with `genir ask "<text>"`, people's words — and matches it with a recursive
 * std::regex whose depth grows with the line's length: in a worker thread (4 MB stack) a command
 * line of ~14,000 characters overflowed the stack and the process died with SIGSEGV (exit 139).
 * Off for the whole process, before any session exists; nothing is uploaded either.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';

/** A tensor as it travels to and from the worker. */
export type Feed = Pick<ort.Tensor, 'type' | 'data' | 'dims'>;

interface Pending {
  resolve: (outputs: Record<string, Feed>) => void;
  reject: (err: Error) => void;
}

export interface ModelSessionOptions {
  /** onnxruntime intra-op threads per worker (0 / undefined = runtime default). */
  intraOpThreads?: number;
  /**
   * Worker threads, each with its own copy of the model (default 1). Several single-threaded
   * copies beat one multi-threaded copy when the cores are shared with other work: a run slowed
   * by a busy core delays only itself, not a whole parallel step. Costs the model's memory each.
   */
  workers?: number;
}

/** The part of an onnxruntime InferenceSession the encoders use, served by worker threads. */
export class ModelSession {
  private readonly pending = new Map<number, Pending>();
  /** Runs in flight per worker: a run goes to the least busy. */
  private readonly busy: Map<Worker, number>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 0;
  private stopped: Error | null = null;

  private constructor(
    private readonly workers: readonly Worker[],
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[],
    what: string,
  ) {
    this.busy = new Map(workers.map((w) => [w, 0]));
    const stop = (err: Error) => {
      this.stopped ??= err;
      for (const p of this.pending.values()) p.reject(this.stopped);
      this.pending.clear();
    };
    for (const worker of workers) {
      worker.on('message', (m: WorkerReply) => {
        if (m.kind !== 'result' && m.kind !== 'error') return;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        const left = (this.busy.get(worker) ?? 1) - 1;
        this.busy.set(worker, left);
        if (left === 0) worker.unref();
        if (m.kind === 'error') p.reject(new Error(m.message));
        else p.resolve(m.outputs);
      });
      worker.on('error', (err) =>
        stop(new Error(`the ${what} worker failed: ${err.message}`, { cause: err })),
      );
      worker.on('exit', (code) => stop(new Error(`the ${what} worker stopped (exit code ${code})`)));
      // Idle, a worker does not keep the process alive; a run in flight does.
      worker.unref();
    }
  }

  /**
   * Load `modelPath` (whole-graph optimization, sequential, one inter-op thread) in new workers.
   * Idle intra-op threads sleep instead of spinning: the cores are shared with decoding and with
   * the bot, and a spinning thread only delays them (`npm run bench:index`: +8% images/s with CLIP).
   * `what` names the model in errors ("model", "text model").
   */
  static async create(
    modelPath: string,
    what: string,
    options: ModelSessionOptions = {},
  ): Promise<ModelSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    };
    const count = Math.max(1, Math.floor(options.workers ?? 1));
    const workers = Array.from(
      { length: count },
      () =>
        new Worker(new URL('./session-worker.mjs', import.meta.url), {
          workerData: { modelPath, options: sessionOptions },
        }),
    );
    const replies = await Promise.all(
      workers.map((worker) =>
        new Promise<WorkerReply>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        }).catch((err: Error) => ({ kind: 'failed', message: err.message }) as const),
      ),
    );
    const first = replies[0] as WorkerReply;
    const failed = replies.find((r) => r.kind !== 'ready');
    if (failed || first.kind !== 'ready') {
      await Promise.all(workers.map((w) => w.terminate()));
      const reason = failed?.kind === 'failed' ? failed.message : 'unexpected first message';
      throw new Error(`cannot load ONNX ${what} ${modelPath}: ${reason}`);
    }
    return new ModelSession(workers, first.inputNames, first.outputNames, first.inputMetadata, what);
  }

  run(feeds: Record<string, Feed>): Promise<Record<string, Feed>> {
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
    let worker = this.workers[0] as Worker;
    for (const w of this.workers) if ((this.busy.get(w) ?? 0) < (this.busy.get(worker) ?? 0)) worker = w;
    const run = new Promise<Record<string, Feed>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.busy.set(worker, (this.busy.get(worker) ?? 0) + 1);
      worker.ref();
      // Runs queue up in the worker: it starts the next as soon as one ends, with no round trip.
      worker.postMessage({ id, feeds: plain }, transfer);
    });
    this.inFlight.add(run);
    const settled = () => this.inFlight.delete(run);
    run.then(settled, settled);
    return run;
  }

  /** Refuses new runs, lets the queued ones finish, then stops the workers. */
  async release(): Promise<void> {
    this.stopped ??= new Error('the model session is closed');
    await Promise.allSettled([...this.inFlight]);
    await Promise.all(this.workers.map((w) => w.terminate()));
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
