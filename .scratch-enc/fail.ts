import { OnnxImageEncoder } from '../adapters/encode/onnx/encoder.ts';
import { createRng, pick } from '../core/random.ts';
import { renderScene, sampleScene, SHAPES, type Scene } from '../core/scene/index.ts';
const enc = await OnnxImageEncoder.load({ modelPath: process.env.M ?? '.scratch-enc/cur.onnx', configPath: '.scratch-enc/cur.json' });
const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
const rng = createRng(11);
const bySize: Record<string, number[]> = {}; const byPair: Record<string, number[]> = {};
for (let i = 0; i < 300; i++) {
  const sc = sampleScene(rng);
  const s: Scene = structuredClone(sc);
  const o = s.objects[Math.floor(rng() * s.objects.length)]!;
  const from = o.shape;
  o.shape = pick(rng, SHAPES.filter((x) => !s.objects.some((y) => y.shape === x)));
  const v = await enc.embedImages([await renderScene(sc, { jitter: createRng(i) }), await renderScene(sc, { jitter: createRng(1e4 + i) }), await renderScene(s, { jitter: createRng(2e4 + i) })]);
  const win = dot(v[0]!, v[1]!) > dot(v[0]!, v[2]!) ? 1 : 0;
  const k = `${o.size}/${o.count}/${sc.objects.length}`; (bySize[k] ??= []).push(win);
  const pk = [from, o.shape].sort().join('-'); (byPair[pk] ??= []).push(win);
}
const fmt = (r: Record<string, number[]>) => Object.entries(r).sort().map(([k, v]) => `${k}:${(v.reduce((a, b) => a + b) / v.length).toFixed(2)}(${v.length})`).join(' ');
console.log(fmt(bySize)); console.log(fmt(byPair));
