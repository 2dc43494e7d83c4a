const u = (...b: number[]) => b;
const str = (s: string) => [s.length, ...Buffer.from(s)];
function section(id: number, content: number[]) { return [id, ...leb(content.length), ...content]; }
function leb(n: number) { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; }
const SIMD = 0xfd;
const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i], tee = (i: number) => [0x22, i];
const i32c = (v: number) => [0x41, v];
const load = (off: number) => [SIMD, 0x00, 0x02, off];
const body = [
  0x02, 0x03, 0x7f, 0x02, 0x7b,
  ...get(2), ...i32c(2), 0x74, ...set(7),
  0x02, 0x40,
  ...get(3), 0x45, 0x0d, 0,
  0x03, 0x40,
  SIMD, 0x0c, ...new Array(16).fill(0), ...set(8),
  SIMD, 0x0c, ...new Array(16).fill(0), ...set(9),
  ...i32c(0), ...set(6),
  0x03, 0x40,
  ...get(8), ...get(0), ...get(6), 0x6a, ...load(0), ...get(1), ...get(6), 0x6a, ...load(0), SIMD, 0xe6, 0x01, SIMD, 0xe4, 0x01, ...set(8),
  ...get(9), ...get(0), ...get(6), 0x6a, ...load(16), ...get(1), ...get(6), 0x6a, ...load(16), SIMD, 0xe6, 0x01, SIMD, 0xe4, 0x01, ...set(9),
  ...get(6), ...i32c(32), 0x6a, ...tee(6), ...get(7), 0x49, 0x0d, 0,
  0x0b,
  ...get(8), ...get(9), SIMD, 0xe4, 0x01, ...set(8),
  ...get(4),
  ...get(8), SIMD, 0x1f, 0, ...get(8), SIMD, 0x1f, 1, 0x92, ...get(8), SIMD, 0x1f, 2, 0x92, ...get(8), SIMD, 0x1f, 3, 0x92,
  0x38, 0x02, 0x00,
  ...get(4), ...i32c(4), 0x6a, ...set(4),
  ...get(0), ...get(7), 0x6a, ...set(0),
  ...get(5), ...i32c(1), 0x6a, ...tee(5), ...get(3), 0x49, 0x0d, 0,
  0x0b,
  0x0b,
  0x0b,
];
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
  ...section(2, [1, ...str('env'), ...str('memory'), 0x02, 0x00, 0x01]),
  ...section(3, [1, 0]),
  ...section(7, [1, ...str('dots'), 0x00, 0]),
  ...section(10, [1, ...leb(body.length), ...body]),
]);
console.log('valid', WebAssembly.validate(bytes), bytes.length);
const dim = 352, n = 50_000;
const mem = new WebAssembly.Memory({ initial: Math.ceil((dim * 4 + n * dim * 4 + n * 4) / 65536) + 1 });
const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: mem } });
const dots = inst.exports.dots as (d: number, q: number, dim: number, n: number, out: number) => void;
const f = new Float32Array(mem.buffer);
const qOff = 0, dOff = dim * 4, oOff = dOff + n * dim * 4;
for (let i = 0; i < dim + n * dim; i++) f[i] = Math.random() - 0.5;
dots(dOff, qOff, dim, n, oOff);
const out = new Float32Array(mem.buffer, oOff, n);
let maxErr = 0; for (let r = 0; r < 50; r++) { let s = 0; for (let j = 0; j < dim; j++) s += f[dim + r * dim + j]! * f[j]!; maxErr = Math.max(maxErr, Math.abs(s - out[r]!)); }
console.log('maxErr', maxErr);
for (let i = 0; i < 10; i++) dots(dOff, qOff, dim, n, oOff);
const t = performance.now(); for (let i = 0; i < 30; i++) dots(dOff, qOff, dim, n, oOff); console.log('wasm ms', ((performance.now() - t) / 30).toFixed(2));
