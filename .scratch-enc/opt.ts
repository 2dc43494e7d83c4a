import { writeFileSync } from 'node:fs';
import { OnnxImageEncoder } from '../adapters/encode/onnx/encoder.ts';
import { buildTinyEncoder, TINY_ENCODER_PARAMS, type TinyEncoderParams } from '../scripts/build-tiny-encoder.ts';
import { type Attr, createRng, mutate, renderScene, sampleScene } from './scenes2.ts';

const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
const N = Number(process.env.N ?? 150);
const attrs: Attr[] = ['colour', 'shape', 'position', 'background', 'size'];
const rng = createRng(Number(process.env.SEED ?? 7));
const imgs: Buffer[][] = [];
for (let i = 0; i < N; i++) {
  const sc = sampleScene(rng);
  const row = [await renderScene(sc, { jitter: createRng(10 + i) }), await renderScene(sc, { jitter: createRng(500 + i) })];
  for (const a of attrs) row.push(await renderScene(mutate(sc, a, rng), { jitter: createRng(1000 + i * 7 + attrs.indexOf(a)) }));
  imgs.push(row);
}
const extra = JSON.parse(process.env.P ?? '{}');
const blocks = ['hist', 'layout', 'edges', 'orient'] as const;
// cos[block][pairType][i]
const cos: Record<string, Record<string, number[]>> = {};
for (const b of blocks) {
  const p: TinyEncoderParams = { ...TINY_ENCODER_PARAMS, ...extra, weights: { hist: 0, layout: 0, edges: 0, orient: 0, [b]: 1 } };
  const { model, config } = buildTinyEncoder(p);
  writeFileSync('.scratch-enc/m.onnx', model);
  const enc = await OnnxImageEncoder.load({ modelPath: '.scratch-enc/m.onnx', config });
  cos[b] = { jitter: [], ...Object.fromEntries(attrs.map((a) => [a, []])) };
  for (const row of imgs) {
    const v = await enc.embedImages(row);
    cos[b]!.jitter!.push(dot(v[0]!, v[1]!));
    attrs.forEach((a, k) => cos[b]![a]!.push(dot(v[0]!, v[k + 2]!)));
  }
  await enc.close();
}
function score(w: Record<string, number>) {
  const tot = blocks.reduce((s, b) => s + w[b]! ** 2, 0);
  const sim = (t: string, i: number) => blocks.reduce((s, b) => s + w[b]! ** 2 * cos[b]![t]![i]!, 0) / tot;
  const res: Record<string, { win: number; mean: number }> = {};
  let jm = 0;
  for (let i = 0; i < N; i++) jm += sim('jitter', i) / N;
  for (const a of attrs) {
    let win = 0, mean = 0;
    for (let i = 0; i < N; i++) { const s = sim(a, i); mean += s / N; if (sim('jitter', i) > s) win++; }
    res[a] = { win: win / N, mean };
  }
  return { jm, res };
}
const grid = [0, 0.5, 1, 1.5, 2, 3];
let best: { w: Record<string, number>; obj: number; r: ReturnType<typeof score> } | null = null;
for (const h of grid) for (const l of grid) for (const e of grid) for (const o of grid) {
  if (h + l + e + o === 0) continue;
  const w = { hist: h, layout: l, edges: e, orient: o };
  const r = score(w);
  const main = ['colour', 'shape', 'position', 'background'].map((a) => r.res[a]!.win);
  const obj = Math.min(...main) + 0.25 * (main.reduce((x, y) => x + y) / 4) + 0.1 * r.res.size!.win;
  if (!best || obj > best.obj) best = { w, obj, r };
}
const show = (r: ReturnType<typeof score>) => `jit ${r.jm.toFixed(3)} ` + attrs.map((a) => `${a} ${r.res[a]!.mean.toFixed(3)}/${r.res[a]!.win.toFixed(2)}`).join(' ');
console.log('P', JSON.stringify(extra));
console.log('current', show(score(TINY_ENCODER_PARAMS.weights)));
console.log('best', JSON.stringify(best!.w), show(best!.r));
for (const b of blocks) console.log(' block', b, show(score({ hist: 0, layout: 0, edges: 0, orient: 0, [b]: 1 })));
