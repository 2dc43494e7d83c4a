/**
 * `npm run bench:index`: images/s through the whole `genir index` pipeline (walk, read, sha256,
 * decode + preprocess, encode, usearch add, SQLite commit every batch) against the bare encoder on
 * preloaded tensors, with the configured encoder (the tiny one by default).
 *
 * The gallery is N scene PNGs (core/scene, 256×256, like the demo gallery), generated once into
 * out/bench/index-images. Also measured: everything but the model (read, hash, decode, preprocess)
 * alone — the pipeline cannot beat it. Bare, decode-only and pipeline runs alternate (the machine
 * may be shared); the table shows the median of each. Writes <out>/index.json.
 *
 *   npm run bench:index -- --images 2000 --runs 3
 *   npm run build:clip-shaped   # models/clip-shaped.onnx: CLIP ViT-B/32's shape, random weights
 *   ENCODER_MODEL=models/clip-shaped.onnx npm run bench:index -- --images 256 --out out/bench/clip
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_LIMIT_INPUT_PIXELS,
  preprocessInto,
  tensorLength,
  writeChw,
} from '../adapters/encode/onnx/index.ts';
import { renderScene, sampleScene } from '../adapters/scene/index.ts';
import { loadConfig } from '../bots/config.ts';
import { loadEncoder } from '../bots/encoder.ts';
import { createRng } from '../core/random.ts';
import { decodeForIndex } from './index-gallery/decode.ts';
import { defaultBatchSize, indexGallery } from './index-gallery/index.ts';
import { type EncoderLayout, indexingEncoderLayout } from './index-gallery/threads.ts';
import { percentile, printTable } from './stats.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

const IMAGES = Number(arg('images', '2000'));
const RUNS = Number(arg('runs', '3'));
const OUT = arg('out', 'out/bench');
const CONCURRENCY = Number(arg('concurrency', '0'));

async function ensureImages(dir: string, count: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
  if (existing.length === count) return existing.map((f) => join(dir, f));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  console.error(`rendering ${count} scenes…`);
  const rng = createRng(2024);
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const png = await renderScene(sampleScene(rng), { size: 256, jitter: createRng(i + 1) });
    const file = join(dir, `scene-${String(i).padStart(5, '0')}.png`);
    await writeFile(file, png);
    files.push(file);
  }
  return files;
}

async function main(): Promise<void> {
  const config = loadConfig();
  // The bare encoder at its best — one copy with one thread, one copy with a thread per core, or a
  // single-threaded copy per core, whichever is fastest here — and the pipeline with what
  // `genir index` uses.
  const layout = await indexingEncoderLayout(config);
  const load = (l: EncoderLayout) => loadEncoder(config, l);
  const encoder = await load(layout);
  const cores = cpus().length;
  const bareEncoders = [{ encoder, workers: layout.workers }];
  const tried = new Set([`${layout.threads}x${layout.workers}`]);
  for (const l of [
    { threads: 1, workers: 1 },
    { threads: cores, workers: 1 },
    { threads: 1, workers: cores },
  ]) {
    if (tried.has(`${l.threads}x${l.workers}`)) continue;
    tried.add(`${l.threads}x${l.workers}`);
    bareEncoders.push({ encoder: await load(l), workers: l.workers });
  }
  const p = encoder.preprocessing;
  const per = tensorLength(p);
  const batch = Number(arg('batch', String(defaultBatchSize(p))));
  const imagesDir = join(OUT, 'index-images');
  const files = await ensureImages(imagesDir, IMAGES);

  // Preloaded tensors for the bare encoder.
  const tensor = new Float32Array(per * IMAGES);
  await Promise.all(files.map(async (f, i) => preprocessInto(await readFile(f), p, tensor, i * per, i)));
  // As many batches in flight as the encoder has model copies.
  const bareWith = async ({ encoder: e, workers }: (typeof bareEncoders)[number]) => {
    const t = performance.now();
    let next = 0;
    const lane = async () => {
      for (let s = next; s < IMAGES; s = next) {
        next += batch;
        const n = Math.min(batch, IMAGES - s);
        await e.embedTensor(tensor.subarray(s * per, (s + n) * per), n);
      }
    };
    await Promise.all(Array.from({ length: workers }, lane));
    return IMAGES / ((performance.now() - t) / 1000);
  };
  const bare = async () => {
    let best = 0;
    for (const e of bareEncoders) best = Math.max(best, await bareWith(e));
    return best;
  };
  // Everything but the model: read, hash, decode and preprocess, as many at once as the pipeline.
  const decodeOnly = async () => {
    const out = new Float32Array(per * IMAGES);
    let next = 0;
    const t = performance.now();
    const worker = async () => {
      for (let i = next++; i < IMAGES; i = next++) {
        const bytes = await readFile(files[i] as string);
        createHash('sha256').update(bytes).digest('hex');
        const image = await decodeForIndex(bytes, p, DEFAULT_LIMIT_INPUT_PIXELS);
        writeChw(image.pixels, p, out, i * per);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY || 16 }, worker));
    return IMAGES / ((performance.now() - t) / 1000);
  };
  const pipeline = async (run: number) => {
    const dir = join(OUT, 'index-gallery', `run-${run}`);
    await rm(dir, { recursive: true, force: true });
    const cpu0 = process.cpuUsage();
    const summary = await indexGallery({
      sources: [imagesDir],
      dir,
      name: 'bench',
      encoder,
      index: { kind: 'usearch' },
      batch,
      ...(CONCURRENCY ? { concurrency: CONCURRENCY } : {}),
    });
    if (summary.indexed !== IMAGES) throw new Error(`indexed ${summary.indexed} of ${IMAGES}`);
    await rm(dir, { recursive: true, force: true });
    const cpu = process.cpuUsage(cpu0);
    timings.push({
      ...summary.timings,
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1e3 / 1e3 / summary.seconds) * 100),
    });
    return summary.indexed / summary.seconds;
  };

  const timings: unknown[] = [];
  await bare(); // warm-up
  const bareRates: number[] = [];
  const decodeRates: number[] = [];
  const pipeRates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    bareRates.push(await bare());
    decodeRates.push(await decodeOnly());
    pipeRates.push(await pipeline(r));
    console.error(
      `run ${r + 1}/${RUNS}: bare ${Math.round(bareRates.at(-1) as number)} img/s, decode ${Math.round(decodeRates.at(-1) as number)} img/s, pipeline ${Math.round(pipeRates.at(-1) as number)} img/s`,
      JSON.stringify(timings.at(-1)),
    );
  }
  const bareMedian = percentile(bareRates, 50);
  const decodeMedian = percentile(decodeRates, 50);
  const pipeMedian = percentile(pipeRates, 50);
  const result = {
    encoder: encoder.id,
    input: `${p.size}×${p.size}`,
    images: IMAGES,
    batch,
    runs: RUNS,
    cores: cpus().length,
    pipelineEncoder: layout,
    bare: { median: bareMedian, runs: bareRates },
    decodeOnly: { median: decodeMedian, runs: decodeRates },
    pipeline: { median: pipeMedian, runs: pipeRates },
    ratio: pipeMedian / bareMedian,
    decodeRatio: pipeMedian / decodeMedian,
    timings,
    date: new Date().toISOString(),
  };
  await mkdir(OUT, { recursive: true });
  await writeFile(join(OUT, 'index.json'), JSON.stringify(result, null, 2));
  printTable(
    [
      'encoder',
      'images',
      'batch',
      'bare encoder img/s',
      'decode only img/s',
      'pipeline img/s',
      'pipeline / bare',
      'pipeline / decode only',
    ],
    [
      [
        `${encoder.id} (${p.size}px, ${layout.workers} × ${layout.threads} inference thread${layout.threads > 1 ? 's' : ''})`,
        String(IMAGES),
        String(batch),
        bareMedian.toFixed(0),
        decodeMedian.toFixed(0),
        pipeMedian.toFixed(0),
        `${(result.ratio * 100).toFixed(0)}%`,
        `${(result.decodeRatio * 100).toFixed(0)}%`,
      ],
    ],
  );
  for (const { encoder: e } of bareEncoders) await e.close();
}

await main();
