export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** L2-normalized copy (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  const n = Math.sqrt(dot(v, v));
  const out = new Float32Array(v.length);
  if (n === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) / n;
  return out;
}

/** Σ w_i·v_i over equally long vectors. */
export function weightedSum(terms: readonly { v: Float32Array; w: number }[], dim: number): Float32Array {
  const out = new Float32Array(dim);
  for (const { v, w } of terms) {
    if (v.length !== dim) throw new Error(`vector of length ${v.length}, expected ${dim}`);
    for (let i = 0; i < dim; i++) out[i] = (out[i] as number) + w * (v[i] as number);
  }
  return out;
}

export function mean(vectors: readonly Float32Array[], dim: number): Float32Array {
  return weightedSum(
    vectors.map((v) => ({ v, w: 1 / vectors.length })),
    dim,
  );
}
