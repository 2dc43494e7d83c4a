export { createDotKernel, type DotKernelName, wasmSimdAvailable } from './dots.ts';
export { EXACT_INDEX_FORMAT, ExactIndex, type ExactIndexOptions } from './exact-index.ts';
