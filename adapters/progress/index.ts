import cliProgress from 'cli-progress';

/** Progress of a long job: a bar with rate and ETA on a terminal, JSON lines with --json. */
export interface Progress {
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}`,
      stream,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let t0 = 0;
  return {
    start(total) {
      t0 = performance.now();
      bar.start(total, 0, { rate: '0' });
    },
    update(done) {
      const seconds = (performance.now() - t0) / 1000;
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toString() : '0' });
    },
    stop() {
      bar.stop();
    },
  };
}

export function jsonProgress(label: string, stream: NodeJS.WritableStream = process.stdout): Progress {
  let t0 = 0;
  let total = 0;
  const emit = (done: number, finished = false) => {
    const seconds = (performance.now() - t0) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    stream.write(
      `${JSON.stringify({ job: label, done, total, rate: Math.round(rate), etaSeconds: rate > 0 ? Math.round((total - done) / rate) : null, finished })}\n`,
    );
  };
  return {
    start(t) {
      t0 = performance.now();
      total = t;
      emit(0);
    },
    update: (done) => emit(done),
    stop: () => emit(total, true),
  };
}

export const silentProgress: Progress = { start() {}, update() {}, stop() {} };
