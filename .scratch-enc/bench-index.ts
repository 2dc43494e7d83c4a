import { ExactIndex } from '../adapters/index/exact/index.ts';
import { createRng } from '../core/random.ts';
for (const dim of [300, 355, 512]) {
const rng = createRng(1);
const index = ExactIndex.inMemory({ encoderId: 'x', dim, preprocessing: { size: 64, resize: 'stretch', mean: [0, 0, 0], std: [1, 1, 1] } }, { kernel: (process.env.K ?? "auto") as "auto" });
const n = 50_000;
const batch = [];
for (let i = 0; i < n; i++) batch.push({ id: `a${i}`, vector: Float32Array.from({ length: dim }, () => rng() - 0.5) });
await index.upsert(batch);
const q = Float32Array.from({ length: dim }, () => rng() - 0.5);
for (let i = 0; i < 20; i++) index.searchSync(q, 10);
const times: number[] = [];
const ex = new Set(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'a10']);
for (let i = 0; i < 100; i++) { const t = performance.now(); index.searchSync(q, 10, ex); times.push(performance.now() - t); }
times.sort((a, b) => a - b);
console.log(dim, 'median ms', times[50]!.toFixed(2), 'p95', times[95]!.toFixed(2));
}
