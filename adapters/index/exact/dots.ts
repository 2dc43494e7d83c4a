/**
 * Row-wise dot products of a row-major float32 matrix with one query vector: the inner loop of
 * exact search. Two kernels over the same memory layout:
 *
 * - `wasm`: a 258-byte WebAssembly SIMD module, assembled below from this WAT (f32x4, two
 *   accumulators, rows padded to a multiple of 8 floats, all offsets in bytes):
 *
 *     (func (export "dots") (param $data i32) (param $q i32) (param $dim i32) (param $n i32) (param $out i32)
 *       (local $r i32) (local $j i32) (local $rowBytes i32) (local $a v128) (local $b v128)
 *       rowBytes = dim << 2
 *       block  br_if (n == 0)
 *         loop $rows
 *           a = 0; b = 0; j = 0
 *           loop $cols
 *             a += load(data + j) * load(q + j); b += load(data + j + 16) * load(q + j + 16)
 *             j += 32; br_if $cols (j < rowBytes)
 *           end
 *           a += b; f32.store(out, a[0] + a[1] + a[2] + a[3])
 *           out += 4; data += rowBytes; r += 1; br_if $rows (r < n)
 *         end
 *       end)
 *
 * - `js`: the same loop in plain JavaScript (4 accumulators), used where WebAssembly SIMD is not
 *   available. About half the speed (memory-bandwidth vs. scalar-compute bound).
 */

export type DotKernelName = 'wasm' | 'js';

/** Byte offsets into the kernel's memory; stride is in floats (a multiple of 8). */
export type DotsFn = (
  dataOffset: number,
  queryOffset: number,
  stride: number,
  rows: number,
  outOffset: number,
) => void;

export interface DotKernel {
  readonly name: DotKernelName;
  /** Current backing memory (replaced when it grows: re-read after `ensureBytes`). */
  buffer(): ArrayBuffer;
  /** Make the memory at least `bytes` long, keeping its contents. */
  ensureBytes(bytes: number): void;
  dots: DotsFn;
}

const PAGE = 65536;

/** The few WebAssembly APIs used here (the project's TS lib has no WebAssembly typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function assembleDotsModule(): Uint8Array {
  const SIMD = 0xfd;
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const i32 = (v: number) => [0x41, v];
  const load = (offset: number) => [SIMD, 0x00, 0x02, offset];
  const mulAdd = [SIMD, 0xe6, 0x01, SIMD, 0xe4, 0x01]; // f32x4.mul, f32x4.add
  const zero = [SIMD, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const lane = (l: number) => [...get(8), SIMD, 0x1f, l]; // f32x4.extract_lane
  // local indices: params data, q, dim, n, out; locals r, j, rowBytes, a, b
  const [data, q, dim, n, out, r, j, rowBytes, a, b] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const body = [
    ...[0x02, 0x03, 0x7f, 0x02, 0x7b], // locals: 3 × i32, 2 × v128
    ...get(dim),
    ...i32(2),
    0x74,
    ...set(rowBytes),
    ...[0x02, 0x40], // block
    ...get(n),
    0x45,
    ...[0x0d, 0], // br_if n == 0
    ...[0x03, 0x40], // loop $rows
    ...zero,
    ...set(a),
    ...zero,
    ...set(b),
    ...i32(0),
    ...set(j),
    ...[0x03, 0x40], // loop $cols
    ...[...get(a), ...get(data), ...get(j), 0x6a, ...load(0), ...get(q), ...get(j), 0x6a, ...load(0)],
    ...mulAdd,
    ...set(a),
    ...[...get(b), ...get(data), ...get(j), 0x6a, ...load(16), ...get(q), ...get(j), 0x6a, ...load(16)],
    ...mulAdd,
    ...set(b),
    ...[...get(j), ...i32(32), 0x6a, ...tee(j), ...get(rowBytes), 0x49, 0x0d, 0],
    0x0b, // end $cols
    ...[...get(a), ...get(b), SIMD, 0xe4, 0x01, ...set(a)],
    ...get(out),
    ...[...lane(0), ...lane(1), 0x92, ...lane(2), 0x92, ...lane(3), 0x92],
    ...[0x38, 0x02, 0x00], // f32.store
    ...[...get(out), ...i32(4), 0x6a, ...set(out)],
    ...[...get(data), ...get(rowBytes), 0x6a, ...set(data)],
    ...[...get(r), ...i32(1), 0x6a, ...tee(r), ...get(n), 0x49, 0x0d, 0],
    0x0b, // end $rows
    0x0b, // end block
    0x0b, // end func
  ];
  const name = (s: string) => [s.length, ...Buffer.from(s, 'ascii')];
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // type (i32 ×5) → ()
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]), // import memory
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('dots'), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

let wasmModule: WasmModule | null | undefined;

function compiledModule(): WasmModule | null {
  if (wasmModule === undefined) {
    try {
      const bytes = assembleDotsModule();
      wasmModule = wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
    } catch {
      wasmModule = null;
    }
  }
  return wasmModule;
}

export function wasmSimdAvailable(): boolean {
  return compiledModule() !== null;
}

function wasmKernel(api: WasmApi, module: WasmModule): DotKernel {
  const memory = new api.Memory({ initial: 1 });
  const instance = new api.Instance(module, { env: { memory } });
  const dots = instance.exports.dots as (d: number, q: number, dim: number, n: number, o: number) => void;
  return {
    name: 'wasm',
    buffer: () => memory.buffer,
    ensureBytes(bytes) {
      const have = memory.buffer.byteLength;
      if (bytes <= have) return;
      const pages = Math.ceil((bytes - have) / PAGE);
      try {
        memory.grow(Math.max(pages, Math.ceil(have / PAGE / 2)));
      } catch {
        try {
          memory.grow(pages);
        } catch (err) {
          throw new Error(`exact index: cannot grow vector memory to ${bytes} bytes (limit 4 GiB)`, {
            cause: err,
          });
        }
      }
    },
    dots: (dataOffset, queryOffset, stride, rows, outOffset) =>
      dots(dataOffset, queryOffset, stride, rows, outOffset),
  };
}

function jsKernel(): DotKernel {
  let buf = new ArrayBuffer(PAGE);
  return {
    name: 'js',
    buffer: () => buf,
    ensureBytes(bytes) {
      if (bytes <= buf.byteLength) return;
      const grown = new ArrayBuffer(Math.max(bytes, Math.ceil(buf.byteLength * 1.5)));
      new Uint8Array(grown).set(new Uint8Array(buf));
      buf = grown;
    },
    dots(dataOffset, queryOffset, stride, rows, outOffset) {
      const m = new Float32Array(buf);
      let base = dataOffset >> 2;
      const q0 = queryOffset >> 2;
      const o0 = outOffset >> 2;
      for (let r = 0; r < rows; r++, base += stride) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let j = 0; j < stride; j += 4) {
          s0 += m[base + j]! * m[q0 + j]!;
          s1 += m[base + j + 1]! * m[q0 + j + 1]!;
          s2 += m[base + j + 2]! * m[q0 + j + 2]!;
          s3 += m[base + j + 3]! * m[q0 + j + 3]!;
        }
        m[o0 + r] = s0 + s1 + s2 + s3;
      }
    },
  };
}

/** A fresh kernel with its own memory: WebAssembly SIMD when available (or asked for), else JS. */
export function createDotKernel(prefer: DotKernelName | 'auto' = 'auto'): DotKernel {
  if (prefer === 'js') return jsKernel();
  const module = compiledModule();
  if (module && wasm) return wasmKernel(wasm, module);
  if (prefer === 'wasm') throw new Error('WebAssembly SIMD is not available in this runtime');
  return jsKernel();
}
