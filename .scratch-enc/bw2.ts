const small = new Float32Array(200_000).map(() => Math.random());
function sum(x: Float32Array) { let s0 = 0, s1 = 0, s2 = 0, s3 = 0; for (let i = 0; i < x.length; i += 4) { s0 += x[i]!; s1 += x[i + 1]!; s2 += x[i + 2]!; s3 += x[i + 3]!; } return s0 + s1 + s2 + s3; }
for (let i = 0; i < 100; i++) sum(small);
const t = performance.now(); for (let i = 0; i < 1000; i++) sum(small); const ms = (performance.now() - t) / 1000; console.log('per 17.75M elems ms', (ms * 17_750_000 / 200_000).toFixed(2));
const big = new Uint8Array(71_000_000); const t2 = performance.now(); for (let i = 0; i < 10; i++) big.fill(i); console.log('fill 71MB ms', ((performance.now() - t2) / 10).toFixed(2));
const src = new Uint8Array(71_000_000).fill(1); const dst = new Uint8Array(71_000_000); const t3 = performance.now(); for (let i = 0; i < 10; i++) dst.set(src); console.log('copy 71MB ms', ((performance.now() - t3) / 10).toFixed(2));
