/**
 * `npm run bench:search`: exact JS scan vs usearch HNSW (f32, f16, i8) on clustered 512-d vectors.
 *
 * Data: a Gaussian mixture, not uniform noise: 1,000 components, each a 16-dimensional Gaussian
 * (random basis per component) embedded in 512-d around a random centre, plus isotropic noise —
 * the kind of low-intrinsic-dimension clusters image embeddings form. Queries are fresh draws.
 *
 * Every measurement runs in its own child process so RSS is the index's own:
 *   gt      exact top-10 of every query (usearch's multi-threaded exact search, f32)
 *   exact   the project's ExactIndex (WebAssembly SIMD scan): build, RSS, latency
 *   build   UsearchIndex per dtype: multi-threaded add, then the index file is written
 *   serve   UsearchIndex opened read-only (memory-mapped) per expansion_search: latency, recall, RSS
 * Prints one table and writes out/bench/search-<N>.json (and search.json with every size run).
 *
 *   npm run bench:search -- --sizes 100000
 *   npm run bench:search -- --sizes 1000000 --ef 128,192,256 --row-ef 192 --keep
 *   npm run bench:search -- --sizes 1000000 --dtypes f16 --ef 160 --serve-only   (reuse kept files)
 * Options: --dtypes f32,f16,i8  --ef (expansion_search sweep)  --connectivity 16  --expansion-add 128
 *   --queries 1000  --exact-queries (default 200, 50 at 1M)  --out out/bench
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exactSearch, MetricKind } from 'usearch';
import { ExactIndex } from '../adapters/index/exact/index.ts';
import { type UsearchDtype, UsearchIndex } from '../adapters/index/usearch/index.ts';
import type { IndexHeader } from '../core/ports.ts';
import { createRng, type Rng } from '../core/random.ts';
import { percentile, printTable } from './stats.ts';

interface Args {
  sizes: number[];
  dim: number;
  queries: number;
  exactQueries: number;
  k: number;
  clusters: number;
  seed: number;
  dtypes: UsearchDtype[];
  ef: number[];
  connectivity: number;
  expansionAdd: number;
  out: string;
  /** Keep the built index files (out/bench/cache) for later --serve-only runs. */
  keep: boolean;
  /** Serve existing index files only (built by an earlier --keep run). */
  serveOnly: boolean;
  /** The ef shown in the table row (default: the smallest reaching recall 0.95). */
  rowEf: number | null;
}

function parseArgs(argv: string[]): Args & { child?: string; payload?: string } {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (v: string | undefined, d: string) =>
    (v ?? d)
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  return {
    sizes: list(get('sizes'), '100000,1000000').map(Number),
    dim: Number(get('dim') ?? 512),
    queries: Number(get('queries') ?? 1000),
    exactQueries: Number(get('exact-queries') ?? 0),
    k: Number(get('k') ?? 10),
    clusters: Number(get('clusters') ?? 1000),
    seed: Number(get('seed') ?? 1),
    dtypes: list(get('dtypes'), 'f32,f16,i8') as UsearchDtype[],
    ef: list(get('ef'), '32,64,128').map(Number),
    connectivity: Number(get('connectivity') ?? 16),
    expansionAdd: Number(get('expansion-add') ?? 128),
    out: get('out') ?? 'out/bench',
    keep: argv.includes('--keep'),
    serveOnly: argv.includes('--serve-only'),
    rowEf: get('row-ef') ? Number(get('row-ef')) : null,
    ...(get('child') ? { child: get('child') as string } : {}),
    ...(get('payload') ? { payload: get('payload') as string } : {}),
  };
}

const header = (dim: number): IndexHeader => ({
  encoderId: 'bench-gmm',
  dim,
  preprocessing: { size: 224, resize: 'shortest-crop', mean: [0, 0, 0], std: [1, 1, 1] },
});

// ---------- data ----------

function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

const LATENT = 16;

/** Component parameters: centre and a 16-d basis per component. */
function mixture(dim: number, clusters: number, seed: number) {
  const rng = createRng(seed);
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = gaussian(rng);
  const bases = new Float32Array(clusters * dim * LATENT);
  for (let i = 0; i < bases.length; i++) bases[i] = gaussian(rng) / Math.sqrt(LATENT);
  return { centres, bases };
}

/** Draw n points (row-major) into out. */
function draw(
  m: ReturnType<typeof mixture>,
  dim: number,
  clusters: number,
  rng: Rng,
  out: Float32Array,
  n: number,
): void {
  const z = new Float32Array(LATENT);
  for (let p = 0; p < n; p++) {
    const c = Math.floor(rng() * clusters);
    for (let j = 0; j < LATENT; j++) z[j] = gaussian(rng);
    const base = p * dim;
    const centre = c * dim;
    const basis = c * dim * LATENT;
    for (let d = 0; d < dim; d++) {
      let s = 0;
      const row = basis + d * LATENT;
      for (let j = 0; j < LATENT; j++) s += m.bases[row + j]! * z[j]!;
      out[base + d] = m.centres[centre + d]! + 0.8 * s + 0.2 * gaussian(rng);
    }
  }
}

interface DataFiles {
  vectors: string;
  queries: string;
}

async function ensureData(a: Args, n: number): Promise<DataFiles> {
  const dir = join(a.out, 'cache');
  await mkdir(dir, { recursive: true });
  const tag = `gmm-d${a.dim}-c${a.clusters}-s${a.seed}`;
  const files = { vectors: join(dir, `${tag}-n${n}.f32`), queries: join(dir, `${tag}-q${a.queries}.f32`) };
  const m = mixture(a.dim, a.clusters, a.seed);
  const bytes = async (p: string) => (await stat(p).catch(() => null))?.size ?? -1;
  if ((await bytes(files.queries)) !== a.queries * a.dim * 4) {
    const q = new Float32Array(a.queries * a.dim);
    draw(m, a.dim, a.clusters, createRng(a.seed * 7919 + 1), q, a.queries);
    await writeFile(files.queries, Buffer.from(q.buffer));
  }
  if ((await bytes(files.vectors)) !== n * a.dim * 4) {
    console.error(`generating ${n} × ${a.dim} vectors…`);
    const rng = createRng(a.seed * 104_729 + n);
    const chunk = 20_000;
    const fh = await open(`${files.vectors}.tmp`, 'w');
    const buf = new Float32Array(chunk * a.dim);
    for (let i = 0; i < n; i += chunk) {
      const c = Math.min(chunk, n - i);
      draw(m, a.dim, a.clusters, rng, buf, c);
      await fh.write(Buffer.from(buf.buffer, 0, c * a.dim * 4));
    }
    await fh.close();
    const { rename } = await import('node:fs/promises');
    await rename(`${files.vectors}.tmp`, files.vectors);
  }
  return files;
}

/** Stream the dataset in chunks. */
async function* chunks(path: string, dim: number, n: number, size = 10_000) {
  const fh = await open(path, 'r');
  try {
    for (let i = 0; i < n; i += size) {
      const c = Math.min(size, n - i);
      const buf = Buffer.alloc(c * dim * 4);
      await fh.read(buf, 0, buf.length, i * dim * 4);
      yield { start: i, vectors: new Float32Array(buf.buffer, buf.byteOffset, c * dim) };
    }
  } finally {
    await fh.close();
  }
}

async function readQueries(path: string, dim: number): Promise<Float32Array[]> {
  const all = new Float32Array((await readFile(path)).buffer.slice(0));
  const out: Float32Array[] = [];
  for (let i = 0; i < all.length / dim; i++) out.push(all.slice(i * dim, (i + 1) * dim));
  return out;
}

// ---------- children ----------

interface ChildPayload {
  task: 'gt' | 'exact' | 'build' | 'serve';
  n: number;
  dim: number;
  k: number;
  files: DataFiles;
  gt: string;
  indexPath?: string;
  dtype?: UsearchDtype;
  ef?: number;
  connectivity?: number;
  expansionAdd?: number;
  queries?: number;
  kernel?: 'js' | 'wasm';
}

/** Ids shaped like genir's asset ids (`img-` + 24 hex digits), so the id maps cost what they will. */
const idOf = (i: number) => `img-${i.toString(16).padStart(24, '0')}`;
const numberOf = (id: string) => Number.parseInt(id.slice(4), 16);

const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));

function rssSampler() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  timer.unref();
  return {
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    stop: () => clearInterval(timer),
  };
}

async function timeQueries(queries: Float32Array[], run: (q: Float32Array) => unknown): Promise<number[]> {
  for (const q of queries.slice(0, Math.min(20, queries.length))) await run(q); // warm-up
  const times: number[] = [];
  for (const q of queries) {
    const t = performance.now();
    await run(q);
    times.push(performance.now() - t);
  }
  return times;
}

function latencyStats(times: number[]) {
  const total = times.reduce((s, x) => s + x, 0);
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    qps: times.length / (total / 1000),
  };
}

async function child(p: ChildPayload): Promise<unknown> {
  const queries = await readQueries(p.files.queries, p.dim);
  const baseline = process.memoryUsage.rss();
  if (p.task === 'gt') {
    const dataset = new Float32Array(p.n * p.dim);
    for await (const c of chunks(p.files.vectors, p.dim, p.n)) dataset.set(c.vectors, c.start * p.dim);
    const flat = new Float32Array(queries.length * p.dim);
    queries.forEach((q, i) => {
      flat.set(q, i * p.dim);
    });
    const t = performance.now();
    const result = exactSearch(dataset, flat, p.dim, p.k, MetricKind.Cos, 0) as unknown as {
      keys: BigUint64Array;
    };
    const ids: number[][] = [];
    for (let i = 0; i < queries.length; i++) {
      ids.push(Array.from(result.keys.subarray(i * p.k, (i + 1) * p.k), Number));
    }
    await writeFile(p.gt, JSON.stringify(ids));
    return { seconds: (performance.now() - t) / 1000 };
  }
  if (p.task === 'exact') {
    const rss = rssSampler();
    const index = ExactIndex.inMemory(header(p.dim), { kernel: p.kernel ?? 'wasm' });
    // One upsert of everything: the index sizes its memory once (and the dataset copy is dropped
    // before RSS is read).
    let dataset: Float32Array | null = new Float32Array(p.n * p.dim);
    for await (const c of chunks(p.files.vectors, p.dim, p.n)) dataset.set(c.vectors, c.start * p.dim);
    const t = performance.now();
    let batch: { id: string; vector: Float32Array }[] | null = [];
    for (let i = 0; i < p.n; i++)
      batch.push({ id: idOf(i), vector: dataset.subarray(i * p.dim, (i + 1) * p.dim) });
    await index.upsert(batch);
    const build = (performance.now() - t) / 1000;
    batch = null;
    dataset = null;
    (globalThis as { gc?: () => void }).gc?.();
    const gt = JSON.parse(await readFile(p.gt, 'utf8')) as number[][];
    const sample = queries.slice(0, p.queries ?? queries.length);
    let hits = 0;
    const times = await timeQueries(sample, (q) => index.searchSync(q, p.k));
    sample.forEach((q, i) => {
      const found = new Set(index.searchSync(q, p.k).map((h) => numberOf(h.id)));
      hits += (gt[i] as number[]).filter((id) => found.has(id)).length;
    });
    rss.stop();
    return {
      build,
      rssMb: mb(process.memoryUsage.rss()),
      indexMb: mb(process.memoryUsage.rss() - baseline),
      peakMb: mb(rss.peak()),
      recall: hits / (sample.length * p.k),
      queries: sample.length,
      ...latencyStats(times),
    };
  }
  if (p.task === 'build') {
    const rss = rssSampler();
    await rm(p.indexPath as string, { force: true });
    const index = await UsearchIndex.open(p.indexPath as string, header(p.dim), {
      dtype: p.dtype as UsearchDtype,
      connectivity: p.connectivity as number,
      expansionAdd: p.expansionAdd as number,
      exactBelow: 0,
      logWrites: false,
      threads: 0,
    });
    const t = performance.now();
    for await (const c of chunks(p.files.vectors, p.dim, p.n)) {
      const batch = [];
      for (let i = 0; i < c.vectors.length / p.dim; i++) {
        batch.push({ id: idOf(c.start + i), vector: c.vectors.subarray(i * p.dim, (i + 1) * p.dim) });
      }
      await index.upsert(batch);
    }
    const add = (performance.now() - t) / 1000;
    const peakBeforeSave = rss.peak();
    const t2 = performance.now();
    await index.close();
    const save = (performance.now() - t2) / 1000;
    rss.stop();
    return {
      add,
      save,
      build: add + save,
      peakMb: mb(Math.max(peakBeforeSave, rss.peak())),
      fileMb: mb((await stat(p.indexPath as string)).size),
    };
  }
  // serve
  const t = performance.now();
  const index = await UsearchIndex.open(p.indexPath as string, header(p.dim), {
    readOnly: true,
    exactBelow: 0,
    expansionSearch: p.ef as number,
  });
  const openSeconds = (performance.now() - t) / 1000;
  const gt = JSON.parse(await readFile(p.gt, 'utf8')) as number[][];
  const times = await timeQueries(queries, (q) => index.search(q, p.k));
  let hits = 0;
  for (let i = 0; i < queries.length; i++) {
    const found = new Set((await index.search(queries[i] as Float32Array, p.k)).map((h) => numberOf(h.id)));
    hits += (gt[i] as number[]).filter((id) => found.has(id)).length;
  }
  const result = {
    ef: p.ef,
    memoryMapped: index.memoryMapped,
    openSeconds,
    rssMb: mb(process.memoryUsage.rss()),
    indexMb: mb(process.memoryUsage.rss() - baseline),
    recall: hits / (queries.length * p.k),
    queries: queries.length,
    ...latencyStats(times),
  };
  await index.close();
  return result;
}

function runChild(payload: ChildPayload): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        ...process.execArgv,
        '--expose-gc',
        process.argv[1] as string,
        '--child',
        '1',
        '--payload',
        JSON.stringify(payload),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
    });
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`${payload.task} child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) as string));
    });
  });
}

// ---------- parent ----------

interface Row {
  n: number;
  index: string;
  buildSeconds: number;
  rssMb: number;
  peakBuildMb: number;
  p50: number;
  p95: number;
  qps: number;
  recall: number;
  speedup: number;
  ef?: number;
  fileMb?: number;
}

async function benchSize(
  a: Args,
  n: number,
  partial: (r: { rows: Row[]; sweep: unknown[] }) => Promise<void>,
): Promise<{ rows: Row[]; sweep: unknown[]; meta: unknown }> {
  const files = await ensureData(a, n);
  const gt = join(a.out, 'cache', `gt-${n}-q${a.queries}-d${a.dim}-s${a.seed}.json`);
  const base = { n, dim: a.dim, k: a.k, files, gt };
  if (!(await stat(gt).catch(() => null))) {
    console.error(`ground truth for ${n}…`);
    await runChild({ ...base, task: 'gt' });
  }
  const exactQueries = a.exactQueries || (n >= 1_000_000 ? 50 : 200);
  const rows: Row[] = [];
  const sweep: unknown[] = [];
  const exact: Record<string, Record<string, number>> = {};
  for (const kernel of ['js', 'wasm'] as const) {
    const cached = join(a.out, 'cache', `exact-${kernel}-${n}-q${exactQueries}-d${a.dim}-s${a.seed}.json`);
    let e: Record<string, number>;
    if (a.serveOnly && (await stat(cached).catch(() => null))) {
      e = JSON.parse(await readFile(cached, 'utf8'));
    } else {
      console.error(`exact scan (${kernel} kernel), ${n}…`);
      e = await runChild({ ...base, task: 'exact', queries: exactQueries, kernel });
      await writeFile(cached, JSON.stringify(e));
    }
    exact[kernel] = e;
    sweep.push({ index: `exact ${kernel}`, ...e });
  }
  const baseline = exact.js as Record<string, number>;
  /** A table row: build figures from `build`, serving figures from `served`. */
  const row = (index: string, build: Record<string, number>, served: Record<string, number>): Row => ({
    n,
    index,
    buildSeconds: build.build as number,
    rssMb: served.rssMb as number,
    peakBuildMb: build.peakMb as number,
    p50: served.p50 as number,
    p95: served.p95 as number,
    qps: served.qps as number,
    recall: served.recall as number,
    speedup: (baseline.p50 as number) / (served.p50 as number),
  });
  for (const kernel of ['js', 'wasm'] as const) {
    const e = exact[kernel] as Record<string, number>;
    rows.push(row(kernel === 'js' ? 'exact scan (JS)' : 'exact scan (wasm SIMD)', e, e));
  }
  for (const dtype of a.dtypes) {
    const indexPath = join(
      a.out,
      'cache',
      `bench-${n}-${dtype}-M${a.connectivity}-efc${a.expansionAdd}.usearch`,
    );
    const builtPath = `${indexPath}.build.json`;
    let built: Record<string, number>;
    if (a.serveOnly) {
      built = JSON.parse(await readFile(builtPath, 'utf8'));
    } else {
      console.error(`usearch ${dtype}, ${n}: building…`);
      built = await runChild({
        ...base,
        task: 'build',
        indexPath,
        dtype,
        connectivity: a.connectivity,
        expansionAdd: a.expansionAdd,
      });
      if (a.keep) await writeFile(builtPath, JSON.stringify(built));
    }
    const served: Record<string, number>[] = [];
    for (const ef of a.ef) {
      console.error(`usearch ${dtype}, ${n}: serving with ef=${ef}…`);
      served.push(await runChild({ ...base, task: 'serve', indexPath, ef }));
    }
    sweep.push({ index: `usearch ${dtype}`, build: built, serve: served });
    // The row: the smallest ef reaching recall ≥ 0.95 (else the best recall).
    const chosen = served.find((s) => s.ef === a.rowEf);
    const ok = chosen ? [chosen] : served.filter((s) => (s.recall as number) >= 0.95);
    const pick =
      ok.length > 0
        ? (ok[0] as Record<string, number>)
        : served.reduce((b, s) => ((s.recall as number) > (b.recall as number) ? s : b));
    rows.push({
      ...row(`usearch ${dtype} (ef ${pick.ef})`, built, pick),
      ef: pick.ef as number,
      fileMb: built.fileMb as number,
    });
    if (!a.keep && !a.serveOnly) await rm(indexPath, { force: true });
    await partial({ rows, sweep });
  }
  const meta = {
    n,
    dim: a.dim,
    clusters: a.clusters,
    latentDim: LATENT,
    queries: a.queries,
    exactQueries,
    k: a.k,
    connectivity: a.connectivity,
    expansionAdd: a.expansionAdd,
    efSweep: a.ef,
    cores: (await import('node:os')).cpus().length,
    node: process.version,
    date: new Date().toISOString(),
  };
  return { rows, sweep, meta };
}

function print(rows: Row[]): void {
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  printTable(
    [
      'vectors',
      'index',
      'build s',
      'RSS MB',
      'build peak MB',
      'p50 ms',
      'p95 ms',
      'QPS',
      'recall@10',
      'vs exact',
    ],
    rows.map((r) => [
      r.n.toLocaleString('en-US'),
      r.index,
      f(r.buildSeconds, 1),
      String(r.rssMb),
      String(r.peakBuildMb),
      f(r.p50, 3),
      f(r.p95, 3),
      f(r.qps, 0),
      f(r.recall, 3),
      `${f(r.speedup, 0)}×`,
    ]),
  );
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.child) {
    const result = await child(JSON.parse(a.payload as string) as ChildPayload);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  await mkdir(a.out, { recursive: true });
  const allPath = join(a.out, 'search.json');
  const all = (JSON.parse(await readFile(allPath, 'utf8').catch(() => '{}')) ?? {}) as Record<
    string,
    unknown
  >;
  for (const n of a.sizes) {
    const result = await benchSize(a, n, async (r) => {
      await writeFile(join(a.out, `search-${n}.partial.json`), JSON.stringify(r, null, 2));
    });
    await writeFile(join(a.out, `search-${n}.json`), JSON.stringify(result, null, 2));
    all[String(n)] = result;
    await writeFile(allPath, JSON.stringify(all, null, 2));
    print(result.rows);
  }
  const rows = Object.values(all).flatMap((r) => (r as { rows: Row[] }).rows);
  if (a.sizes.length < Object.keys(all).length) {
    console.log('\nAll sizes measured so far:');
    print(rows);
  }
}

await main();
