import { OnnxImageEncoder } from '../adapters/encode/onnx/encoder.ts';
import { buildTinyEncoder, TINY_ENCODER_PARAMS, type TinyEncoderParams } from '../scripts/build-tiny-encoder.ts';
import { createRng } from '../core/random.ts';
import { mutate, renderScene, sampleScene, type Attr } from './scenes2.ts';
import { writeFileSync } from 'node:fs';

const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
const N = Number(process.env.N ?? 100);
const attrs: Attr[] = ['colour', 'shape', 'position', 'background', 'size'];
// images
const rng = createRng(7);
const imgs: { base: Buffer; jit: Buffer; muts: Record<string, Buffer> }[] = [];
for (let i = 0; i < N; i++) {
  const sc = sampleScene(rng);
  const muts: Record<string, Buffer> = {};
  for (const a of attrs) muts[a] = await renderScene(mutate(sc, a, rng), { jitter: createRng(1000 + i * 7 + attrs.indexOf(a)) });
  imgs.push({ base: await renderScene(sc, { jitter: createRng(10 + i) }), jit: await renderScene(sc, { jitter: createRng(500 + i) }), muts });
}
let variantDesc: unknown = null;
async function evalParams(p: TinyEncoderParams) {
  const { model, config } = buildTinyEncoder(p);
  writeFileSync('.scratch-enc/m.onnx', model);
  const enc = await OnnxImageEncoder.load({ modelPath: '.scratch-enc/m.onnx', config });
  const res: Record<string, number[]> = { jitter: [] };
  for (const a of attrs) res[a] = [];
  let wins = 0, total = 0; const aw: Record<string, number> = {};
  for (const im of imgs) {
    const all = [im.base, im.jit, ...attrs.map((a) => im.muts[a]!)];
    const v = await enc.embedImages(all);
    const sj = dot(v[0]!, v[1]!);
    res.jitter!.push(sj);
    attrs.forEach((a, k) => { const s = dot(v[0]!, v[k + 2]!); res[a]!.push(s); total++; if (sj > s) { wins++; aw[a] = (aw[a] ?? 0) + 1; } });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out = Object.fromEntries(Object.entries(res).map(([k, xs]) => [k, +mean(xs).toFixed(3)]));
  console.log(JSON.stringify(variantDesc), out, 'win', (wins / total).toFixed(3), JSON.stringify(Object.fromEntries(Object.entries(aw).map(([k, x]) => [k, +(x / imgs.length).toFixed(2)]))), 'minJit', Math.min(...res.jitter!).toFixed(3));
  await enc.close();
}
const variants: Partial<TinyEncoderParams>[] = JSON.parse(process.env.V ?? '[{}]');
for (const v of variants) { variantDesc = v; await evalParams({ ...TINY_ENCODER_PARAMS, ...v, weights: { ...TINY_ENCODER_PARAMS.weights, ...(v.weights ?? {}) }, powers: { ...TINY_ENCODER_PARAMS.powers, ...(v.powers ?? {}) } }); }
