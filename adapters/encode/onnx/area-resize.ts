/**
 * Area-average downscale of packed RGB bytes: each output pixel is the mean of the source area it
 * covers (fractional edges weighted by coverage), the way PIL's `reduce` and OpenCV's INTER_AREA
 * shrink, so a downscale never aliases. An optional source window selects the region to scale (the
 * centre square of 'shortest-crop'); its edges may fall between pixels.
 *
 * Why not sharp for this step: near the model's input size, sharp's fixed cost per pipeline (about
 * 1 ms) is most of the preprocessing time, so decoding once and averaging here is several times
 * cheaper (`npm run bench:index`).
 */

export interface SourceWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Taps {
  /** First source index of each output index. */
  first: Int32Array;
  /** Number of taps of each output index. */
  count: Int32Array;
  /** Weights, `stride` per output index; each output's weights sum to 1. */
  weights: Float32Array;
  stride: number;
}

/** Coverage weights of output pixels [0, outLen) over the source interval [start, start + len). */
function taps(start: number, len: number, outLen: number): Taps {
  const scale = len / outLen;
  const stride = Math.ceil(scale) + 1;
  const first = new Int32Array(outLen);
  const count = new Int32Array(outLen);
  const weights = new Float32Array(outLen * stride);
  for (let o = 0; o < outLen; o++) {
    const a = start + o * scale;
    const b = a + scale;
    const i0 = Math.floor(a);
    const i1 = Math.min(Math.ceil(b), Math.ceil(start + len));
    first[o] = i0;
    count[o] = i1 - i0;
    for (let i = i0; i < i1; i++) {
      weights[o * stride + (i - i0)] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
    }
  }
  return { first, count, weights, stride };
}

/**
 * Scale `window` of a width×height RGB image (3 bytes per pixel, row-major) to outWidth×outHeight.
 * The window must lie inside the image and be at least as large as the output on both axes.
 */
export function areaResizeRgb(
  src: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  window: SourceWindow = { x: 0, y: 0, width, height },
): Uint8Array {
  if (src.length !== width * height * 3) throw new Error(`expected ${width * height * 3} RGB bytes`);
  const { x, y, width: ww, height: wh } = window;
  if (x < 0 || y < 0 || x + ww > width || y + wh > height) throw new Error('window outside the image');
  if (ww < outWidth || wh < outHeight) throw new Error('area resize only shrinks');
  const h = taps(x, ww, outWidth);
  const v = taps(y, wh, outHeight);
  // A plain view: element reads through a Buffer (a Uint8Array subclass) are several times slower.
  const px = new Uint8Array(src.buffer, src.byteOffset, src.length);
  // Vertical pass first, over the columns the window touches: its inner loop runs along whole rows,
  // which is what makes this fast; then the horizontal pass over outHeight short rows.
  const colStart = Math.floor(x);
  const span = (Math.ceil(x + ww) - colStart) * 3;
  const mid = new Float32Array(outHeight * span);
  const stride = width * 3;
  for (let o = 0; o < outHeight; o++) {
    const base = o * v.stride;
    const dst = o * span;
    const end = dst + span;
    const count = v.count[o] as number;
    let s = (v.first[o] as number) * stride + colStart * 3;
    for (let t = 0; t < count; t++, s += stride) {
      const w = v.weights[base + t] as number;
      for (let d = dst, q = s; d < end; d++, q++) mid[d] = (mid[d] as number) + (px[q] as number) * w;
    }
  }
  const out = new Uint8ClampedArray(outWidth * outHeight * 3); // assignment clamps and rounds
  for (let r = 0; r < outHeight; r++) {
    const row = r * span - colStart * 3;
    const dst = r * outWidth * 3;
    for (let o = 0; o < outWidth; o++) {
      let red = 0;
      let green = 0;
      let blue = 0;
      const base = o * h.stride;
      const count = h.count[o] as number;
      let p = row + (h.first[o] as number) * 3;
      for (let t = 0; t < count; t++, p += 3) {
        const w = h.weights[base + t] as number;
        red += (mid[p] as number) * w;
        green += (mid[p + 1] as number) * w;
        blue += (mid[p + 2] as number) * w;
      }
      out[dst + o * 3] = red;
      out[dst + o * 3 + 1] = green;
      out[dst + o * 3 + 2] = blue;
    }
  }
  return new Uint8Array(out.buffer);
}
