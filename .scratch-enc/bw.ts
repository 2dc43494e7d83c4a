const a = new Float32Array(50_000 * 355).map(() => Math.random());
function sum(x: Float32Array) { let s0 = 0, s1 = 0, s2 = 0, s3 = 0; for (let i = 0; i < x.length; i += 4) { s0 += x[i]!; s1 += x[i + 1]!; s2 += x[i + 2]!; s3 += x[i + 3]!; } return s0 + s1 + s2 + s3; }
for (let i = 0; i < 10; i++) sum(a);
const t = performance.now(); for (let i = 0; i < 20; i++) sum(a); console.log('sum ms', ((performance.now() - t) / 20).toFixed(2));
const q = new Float32Array(355).map(() => Math.random());
function dots(x: Float32Array, q: Float32Array, dim: number, out: Float64Array) { const n = x.length / dim; for (let r = 0, b = 0; r < n; r++, b += dim) { let s0 = 0, s1 = 0, s2 = 0, s3 = 0; for (let j = 0; j < dim - 3; j += 4) { s0 += x[b + j]! * q[j]!; s1 += x[b + j + 1]! * q[j + 1]!; s2 += x[b + j + 2]! * q[j + 2]!; s3 += x[b + j + 3]! * q[j + 3]!; } out[r] = s0 + s1 + s2 + s3; } }
const out = new Float64Array(50_000);
for (let i = 0; i < 10; i++) dots(a, q, 355, out);
const t2 = performance.now(); for (let i = 0; i < 20; i++) dots(a, q, 355, out); console.log('dots ms', ((performance.now() - t2) / 20).toFixed(2));
function dots1(x: Float32Array, q: Float32Array, dim: number, out: Float64Array) { const n = x.length / dim; for (let r = 0, b = 0; r < n; r++, b += dim) { let s = 0; for (let j = 0; j < dim; j++) s += x[b + j]! * q[j]!; out[r] = s; } }
for (let i = 0; i < 10; i++) dots1(a, q, 355, out);
const t3 = performance.now(); for (let i = 0; i < 20; i++) dots1(a, q, 355, out); console.log('dots1 ms', ((performance.now() - t3) / 20).toFixed(2));
