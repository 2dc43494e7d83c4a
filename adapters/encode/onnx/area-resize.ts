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
  const rowStart = Math.floor(y);
  const rows = Math.ceil(y + wh) - rowStart;
  // Horizontal pass over the rows the window touches, then vertical.
  const mid = new Float32Array(rows * outWidth * 3);
  for (let r = 0; r < rows; r++) {
    const srcRow = (rowStart + r) * width * 3;
    const midRow = r * outWidth * 3;
    for (let o = 0; o < outWidth; o++) {
      let red = 0;
      let green = 0;
      let blue = 0;
      const base = o * h.stride;
      let p = srcRow + (h.first[o] as number) * 3;
      for (let t = 0; t < (h.count[o] as number); t++, p += 3) {
        const w = h.weights[base + t] as number;
        red += (src[p] as number) * w;
        green += (src[p + 1] as number) * w;
        blue += (src[p + 2] as number) * w;
      }
      const m = midRow + o * 3;
      mid[m] = red;
      mid[m + 1] = green;
      mid[m + 2] = blue;
    }
  }
  const line = outWidth * 3;
  const acc = new Float32Array(line);
  const out = new Uint8ClampedArray(outHeight * line);
  for (let o = 0; o < outHeight; o++) {
    acc.fill(0);
    const base = o * v.stride;
    const r0 = (v.first[o] as number) - rowStart;
    for (let t = 0; t < (v.count[o] as number); t++) {
      const w = v.weights[base + t] as number;
      const m = (r0 + t) * line;
      for (let i = 0; i < line; i++) acc[i] = (acc[i] as number) + (mid[m + i] as number) * w;
    }
    out.set(acc, o * line); // clamps and rounds
  }
  return new Uint8Array(out.buffer);
}
