/**
 * Index headers: which encoder (id, dimension, preprocessing) produced the vectors of an index.
 * Every index implementation stores one and refuses to open with a different encoder, so vectors
 * from two embedding spaces are never mixed.
 */
import type { IndexHeader, Preprocessing } from '../../core/ports.ts';

export const REINDEX_HINT = 'Re-index the gallery (genir index --reindex, or genir demo-gallery --rebuild).';

/** The stored index was built by a different encoder than the configured one. */
export class IndexMismatchError extends Error {
  override readonly name = 'IndexMismatchError';
  readonly location: string;
  readonly stored: IndexHeader;
  readonly configured: IndexHeader;

  constructor(location: string, stored: IndexHeader, configured: IndexHeader) {
    super(mismatchMessage(location, stored, configured));
    this.location = location;
    this.stored = stored;
    this.configured = configured;
  }
}

const EPS = 1e-6;

function sameTriple(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => Math.abs(x - (b[i] ?? Number.NaN)) <= EPS);
}

export function samePreprocessing(a: Preprocessing, b: Preprocessing): boolean {
  return a.size === b.size && a.resize === b.resize && sameTriple(a.mean, b.mean) && sameTriple(a.std, b.std);
}

export function headersMatch(stored: IndexHeader, configured: IndexHeader): boolean {
  return (
    stored.encoderId === configured.encoderId &&
    stored.dim === configured.dim &&
    samePreprocessing(stored.preprocessing, configured.preprocessing)
  );
}

/** Short human form of a preprocessing record: `64px stretch, mean [0.5, 0.5, 0.5], std [0.5, 0.5, 0.5]`. */
export function describePreprocessing(p: Preprocessing): string {
  const fmt = (v: readonly number[]) => `[${v.map((x) => Number(x.toPrecision(6))).join(', ')}]`;
  return `${p.size}px ${p.resize}, mean ${fmt(p.mean)}, std ${fmt(p.std)}`;
}

function mismatchMessage(location: string, stored: IndexHeader, configured: IndexHeader): string {
  const showPre = !samePreprocessing(stored.preprocessing, configured.preprocessing);
  const describe = (h: IndexHeader) =>
    `"${h.encoderId}" (dim ${h.dim}${showPre ? `; preprocessing ${describePreprocessing(h.preprocessing)}` : ''})`;
  return (
    `index ${location} was built with encoder ${describe(stored)}; ` +
    `the configured encoder is ${describe(configured)}. ${REINDEX_HINT}`
  );
}

/** Throws IndexMismatchError when the stored header does not match the configured one. */
export function assertHeaderMatches(location: string, stored: IndexHeader, configured: IndexHeader): void {
  if (!headersMatch(stored, configured)) throw new IndexMismatchError(location, stored, configured);
}

/** Validate an untrusted header object (e.g. read from a file); `source` names it in errors. */
export function parseIndexHeader(value: unknown, source: string): IndexHeader {
  const fail = (what: string): never => {
    throw new Error(`${source}: invalid index header (${what})`);
  };
  if (typeof value !== 'object' || value === null) fail('not an object');
  const v = value as Record<string, unknown>;
  if (typeof v.encoderId !== 'string' || v.encoderId === '') fail('encoderId');
  if (typeof v.dim !== 'number' || !Number.isInteger(v.dim) || v.dim <= 0) fail('dim');
  const p = v.preprocessing as Record<string, unknown> | undefined;
  if (typeof p !== 'object' || p === null) fail('preprocessing');
  const pre = p as Record<string, unknown>;
  if (typeof pre.size !== 'number' || !Number.isInteger(pre.size) || pre.size <= 0)
    fail('preprocessing.size');
  if (pre.resize !== 'stretch' && pre.resize !== 'shortest-crop') fail('preprocessing.resize');
  for (const key of ['mean', 'std'] as const) {
    const t = pre[key];
    if (!Array.isArray(t) || t.length !== 3 || t.some((x) => typeof x !== 'number'))
      fail(`preprocessing.${key}`);
  }
  return {
    encoderId: v.encoderId as string,
    dim: v.dim as number,
    preprocessing: {
      size: pre.size as number,
      resize: pre.resize as Preprocessing['resize'],
      mean: [...(pre.mean as number[])] as Preprocessing['mean'],
      std: [...(pre.std as number[])] as Preprocessing['std'],
    },
  };
}
