/**
 * Vectors in a Pinecone serverless index (`VECTOR_INDEX=pinecone`), for galleries past one machine.
 *
 * - The official client (@pinecone-database/pinecone) with our fetch (transport.ts): a bottleneck
 *   limiter, per-attempt timeouts and bounded, jittered retries on 429/5xx honouring Retry-After.
 * - Upserts go in requests of ≤ 1,000 vectors and ≤ 2 MB (measured on the JSON sent); record
 *   metadata (asset id, path, title) is kept under 40 KB.
 * - Seen-exclusion: a `$nin` metadata filter on `asset_id` while the set is small, otherwise
 *   over-fetch (topK + excluded) and filter here.
 * - The header (encoder id, dim, preprocessing) lives in a reserved record of the namespace
 *   (`__genir_header__`), written when the namespace is empty and checked on open; the index's
 *   dimension and metric are checked against the encoder too. The reserved record never appears in
 *   results or in size().
 * - Creates the serverless index (dimension from the encoder, cosine) when asked and missing.
 */
import { Pinecone, type PineconeRecord, type RecordMetadata } from '@pinecone-database/pinecone';
import type Bottleneck from 'bottleneck';
import type { IndexHeader, SearchHit, VectorIndex } from '../../../core/ports.ts';
import { assertHeaderMatches, parseIndexHeader, REINDEX_HINT } from '../header.ts';
import { createRetryingFetch, type RetryInfo } from './transport.ts';

export const HEADER_RECORD_ID = '__genir_header__';
export const MAX_BATCH_VECTORS = 1000;
export const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
export const MAX_METADATA_BYTES = 40 * 1024;
/** Pinecone's largest topK. */
export const MAX_TOP_K = 10_000;
const FETCH_CHUNK = 100;
const DELETE_CHUNK = 1000;
/** Room for the request envelope ({"vectors":[…],"namespace":"…"}). */
const ENVELOPE_BYTES = 1024;

export interface PineconeIndexOptions {
  apiKey: string;
  indexName: string;
  /** Namespace inside the index (default "genir"). */
  namespace?: string;
  /** Data-plane host; when absent it is looked up (describe index) by name. */
  host?: string;
  /** Control-plane URL (default https://api.pinecone.io; tests point it at the fake). */
  controllerHostUrl?: string;
  /** Create the serverless index when it does not exist. */
  createIfMissing?: boolean;
  cloud?: string;
  region?: string;
  /** Exclusion sets up to this size use a `$nin` filter; larger ones over-fetch (default 1000). */
  filterExcludeMax?: number;
  limiter?: Bottleneck;
  maxRetries?: number;
  timeoutMs?: number;
  /** For tests: the fetch under the retry layer, and the backoff sleep. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (info: RetryInfo) => void;
  /** How long to wait for a newly created index to become ready (default 5 min). */
  readyTimeoutMs?: number;
  /** Re-index: delete every vector of the namespace and write this encoder's header. */
  reset?: boolean;
}

export interface AssetMetadata {
  path?: string;
  title?: string;
}

export interface PineconeUpsertItem {
  id: string;
  vector: Float32Array;
  metadata?: AssetMetadata;
}

export class PineconeIndex implements VectorIndex {
  readonly header: IndexHeader;
  readonly indexName: string;
  readonly namespace: string;
  readonly host: string;
  private readonly ns: ReturnType<Pinecone['index']>;
  private readonly filterExcludeMax: number;
  private headerWritten: boolean;

  private constructor(
    header: IndexHeader,
    options: PineconeIndexOptions,
    host: string,
    ns: ReturnType<Pinecone['index']>,
    headerWritten: boolean,
    private readonly failures: FailureLog,
  ) {
    this.header = structuredClone(header);
    this.indexName = options.indexName;
    this.namespace = options.namespace ?? 'genir';
    this.host = host;
    this.ns = ns;
    this.filterExcludeMax = options.filterExcludeMax ?? 1000;
    this.headerWritten = headerWritten;
  }

  /**
   * Connect, creating the index when asked; check dimension/metric and the namespace's header
   * (IndexMismatchError for another encoder); write the header into an empty namespace.
   */
  static async open(header: IndexHeader, options: PineconeIndexOptions): Promise<PineconeIndex> {
    if (!options.apiKey) throw new Error('PINECONE_API_KEY is not set');
    if (!options.indexName) throw new Error('PINECONE_INDEX is not set');
    const namespace = options.namespace ?? 'genir';
    const failures: FailureLog = { count: 0, last: null };
    const fetchApi = createRetryingFetch({
      onGiveUp: (info) => {
        failures.count++;
        failures.last = info;
      },
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.limiter ? { limiter: options.limiter } : {}),
      ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
    const client = new Pinecone({
      apiKey: options.apiKey,
      ...(options.controllerHostUrl ? { controllerHostUrl: options.controllerHostUrl } : {}),
      fetchApi,
      maxRetries: 0,
    });
    const location = `Pinecone index "${options.indexName}"`;
    let host = options.host;
    if (!host) {
      const model = await describeOrCreate(client, header, options);
      if (model.dimension !== undefined && model.dimension !== header.dim) {
        throw new Error(
          `${location} has dimension ${model.dimension}; the encoder "${header.encoderId}" produces ${header.dim}. ` +
            'Use another index (PINECONE_INDEX) or the encoder it was built with.',
        );
      }
      if (model.metric !== 'cosine') {
        throw new Error(`${location} uses the ${model.metric} metric; genir needs cosine.`);
      }
      host = model.host;
    }
    const ns = client.index({ host, namespace });
    const where = `${location} namespace "${namespace}"`;
    if (options.reset) {
      const index = new PineconeIndex(header, { ...options, namespace }, host, ns, false, failures);
      await index.reset();
      return index;
    }
    const stored = await ns.fetch({ ids: [HEADER_RECORD_ID] });
    const record = stored.records[HEADER_RECORD_ID];
    let headerWritten = false;
    if (record) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(record.metadata?.genir_header ?? ''));
      } catch {
        throw new Error(`${where}: the reserved header record is not readable. ${REINDEX_HINT}`);
      }
      assertHeaderMatches(where, parseIndexHeader(parsed, where), header);
      headerWritten = true;
    } else {
      const stats = await ns.describeIndexStats();
      const count = stats.namespaces?.[namespace]?.recordCount ?? 0;
      if (count > 0) {
        throw new Error(
          `${where} holds ${count} vectors that genir did not write (no header record). ` +
            `Use an empty namespace (PINECONE_NAMESPACE). ${REINDEX_HINT}`,
        );
      }
    }
    const index = new PineconeIndex(header, { ...options, namespace }, host, ns, headerWritten, failures);
    return index;
  }

  async upsert(items: PineconeUpsertItem[]): Promise<void> {
    if (items.length === 0) return;
    const records = items.map((item, i) => toRecord(item, i, this.header.dim));
    await this.ensureHeader();
    for (const batch of packBatches(records, this.namespace)) {
      await this.call('upsert', () => this.ns.upsert({ records: batch }));
    }
  }

  async search(
    vector: Float32Array,
    k: number,
    options: { exclude?: ReadonlySet<string> } = {},
  ): Promise<SearchHit[]> {
    if (vector.length !== this.header.dim)
      throw new Error(`query has ${vector.length} dims, index has ${this.header.dim}`);
    k = Math.floor(k);
    if (!(k > 0)) return [];
    const values = unitValues(vector, 'query vector');
    const exclude = options.exclude && options.exclude.size > 0 ? [...options.exclude] : [];
    const useFilter = exclude.length > 0 && exclude.length <= this.filterExcludeMax;
    // +1: the header record may match too.
    const topK = Math.min(MAX_TOP_K, k + 1 + (useFilter ? 0 : exclude.length));
    const response = await this.call('query', () =>
      this.ns.query({
        vector: values,
        topK,
        includeValues: false,
        includeMetadata: false,
        ...(useFilter ? { filter: { asset_id: { $nin: exclude } } } : {}),
      }),
    );
    const hits: SearchHit[] = [];
    for (const m of response.matches) {
      if (m.id === HEADER_RECORD_ID || options.exclude?.has(m.id)) continue;
      hits.push({ id: m.id, score: m.score ?? 0 });
    }
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits.slice(0, k);
  }

  async fetch(ids: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const wanted = [...new Set(ids)].filter((id) => id !== HEADER_RECORD_ID);
    for (let i = 0; i < wanted.length; i += FETCH_CHUNK) {
      const response = await this.call('fetch', () =>
        this.ns.fetch({ ids: wanted.slice(i, i + FETCH_CHUNK) }),
      );
      for (const [id, record] of Object.entries(response.records)) {
        if (record.values) out.set(id, Float32Array.from(record.values));
      }
    }
    return out;
  }

  /** Records' metadata (asset id, path, title) by id. */
  async fetchMetadata(ids: string[]): Promise<Map<string, RecordMetadata>> {
    const out = new Map<string, RecordMetadata>();
    for (let i = 0; i < ids.length; i += FETCH_CHUNK) {
      const response = await this.call('fetch', () => this.ns.fetch({ ids: ids.slice(i, i + FETCH_CHUNK) }));
      for (const [id, record] of Object.entries(response.records)) out.set(id, record.metadata ?? {});
    }
    return out;
  }

  async remove(ids: string[]): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => id !== HEADER_RECORD_ID);
    for (let i = 0; i < wanted.length; i += DELETE_CHUNK) {
      await this.call('delete', () => this.ns.deleteMany({ ids: wanted.slice(i, i + DELETE_CHUNK) }));
    }
  }

  /** Live vectors in the namespace (Pinecone's stats are eventually consistent). */
  async size(): Promise<number> {
    const stats = await this.call('describe_index_stats', () => this.ns.describeIndexStats());
    const count = stats.namespaces?.[this.namespace]?.recordCount ?? 0;
    return Math.max(0, count - (this.headerWritten ? 1 : 0));
  }

  /** Remote writes are durable when acknowledged. */
  async flush(): Promise<void> {}

  /** Delete every vector of the namespace (re-index), then write this encoder's header. */
  async reset(): Promise<void> {
    const stats = await this.call('describe_index_stats', () => this.ns.describeIndexStats());
    if ((stats.namespaces?.[this.namespace]?.recordCount ?? 0) > 0)
      await this.call('delete', () => this.ns.deleteAll());
    this.headerWritten = false;
    await this.ensureHeader();
  }

  /** Run a data-plane call; failures name the operation and, after retries, how many attempts. */
  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const before = this.failures.count;
    try {
      return await fn();
    } catch (err) {
      throw pineconeError(op, err, this.failures.count > before ? this.failures.last : null);
    }
  }

  private async ensureHeader(): Promise<void> {
    if (this.headerWritten) return;
    const values = new Array<number>(this.header.dim).fill(0);
    values[0] = 1; // cosine needs a non-zero vector
    await this.call('upsert', () =>
      this.ns.upsert({
        records: [
          {
            id: HEADER_RECORD_ID,
            values,
            metadata: { genir: 'header', genir_header: JSON.stringify(this.header) },
          },
        ],
      }),
    );
    this.headerWritten = true;
  }
}

interface FailureLog {
  count: number;
  last: RetryInfo | null;
}

export class PineconeRequestError extends Error {
  override readonly name = 'PineconeRequestError';
}

function pineconeError(op: string, err: unknown, gaveUp: RetryInfo | null): PineconeRequestError {
  const message = err instanceof Error ? err.message : String(err);
  const reason = gaveUp
    ? `${gaveUp.reason} after ${gaveUp.attempt} attempts`
    : (message.split(/(?<=\.)\s/)[0] ?? message);
  return new PineconeRequestError(`Pinecone ${op} failed: ${reason}`, { cause: err });
}

async function describeOrCreate(client: Pinecone, header: IndexHeader, options: PineconeIndexOptions) {
  try {
    return await client.describeIndex(options.indexName);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!options.createIfMissing) {
    throw new Error(
      `Pinecone index "${options.indexName}" does not exist. Create it (dimension ${header.dim}, cosine) ` +
        'or set PINECONE_CREATE_INDEX=true.',
    );
  }
  const created = await client.createIndex({
    name: options.indexName,
    dimension: header.dim,
    metric: 'cosine',
    spec: { serverless: { cloud: options.cloud ?? 'aws', region: options.region ?? 'us-east-1' } },
    tags: { app: 'genir', encoder: tagValue(header.encoderId) },
    waitUntilReady: true,
    timeout: options.readyTimeoutMs ?? 300_000,
    suppressConflicts: true,
  });
  return created ?? (await client.describeIndex(options.indexName));
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'PineconeNotFoundError' || (err as { status?: number }).status === 404)
  );
}

/** Tag values: letters, digits, '_' and '-', ≤ 120 chars. */
function tagValue(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 120) || 'unknown';
}

function unitValues(v: Float32Array, what: string): number[] {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${what} is zero or not finite`);
  // 9 significant digits round-trip a float32 and keep the JSON short.
  return Array.from(v, (x) => Number((x / n).toPrecision(9)));
}

function toRecord(item: PineconeUpsertItem, i: number, dim: number): PineconeRecord {
  if (typeof item.id !== 'string' || item.id === '')
    throw new Error(`upsert item ${i}: id must be a non-empty string`);
  if (item.id === HEADER_RECORD_ID) throw new Error(`upsert item ${i}: id "${HEADER_RECORD_ID}" is reserved`);
  if (Buffer.byteLength(item.id) > 512) throw new Error(`upsert item ${i}: id is longer than 512 bytes`);
  if (item.vector.length !== dim)
    throw new Error(`upsert item ${i} (${item.id}): vector has ${item.vector.length} dims, index has ${dim}`);
  return {
    id: item.id,
    values: unitValues(item.vector, `upsert item ${i} (${item.id}): vector`),
    metadata: boundedMetadata(item.id, item.metadata),
  };
}

/** asset_id (for $nin), path and title; strings cut so the JSON stays under 40 KB. */
export function boundedMetadata(id: string, meta: AssetMetadata = {}): RecordMetadata {
  const out: RecordMetadata = { asset_id: id };
  const budget = MAX_METADATA_BYTES - Buffer.byteLength(JSON.stringify(out)) - 64;
  const fields = (['path', 'title'] as const).filter((f) => typeof meta[f] === 'string' && meta[f] !== '');
  let left = budget;
  fields.forEach((f, n) => {
    const share = Math.floor(left / (fields.length - n));
    const value = truncateUtf8(meta[f] as string, Math.max(0, share - f.length - 8));
    out[f] = value;
    left -= Buffer.byteLength(JSON.stringify(value)) + f.length + 4;
  });
  return out;
}

function truncateUtf8(s: string, maxBytes: number): string {
  // JSON escapes can grow a string; measure the JSON form.
  if (Buffer.byteLength(JSON.stringify(s)) <= maxBytes) return s;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(JSON.stringify(s.slice(0, mid))) <= maxBytes - 3) lo = mid;
    else hi = mid - 1;
  }
  let cut = s.slice(0, lo);
  // Do not end on half a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Split records into requests of ≤ 1,000 vectors and ≤ 2 MB of JSON. */
export function packBatches(records: PineconeRecord[], namespace: string): PineconeRecord[][] {
  const batches: PineconeRecord[][] = [];
  let current: PineconeRecord[] = [];
  let bytes = ENVELOPE_BYTES + Buffer.byteLength(namespace);
  for (const r of records) {
    const size = Buffer.byteLength(JSON.stringify(r)) + 1;
    if (size + ENVELOPE_BYTES > MAX_REQUEST_BYTES) throw new Error(`record ${r.id} alone is over 2 MB`);
    if (current.length > 0 && (current.length >= MAX_BATCH_VECTORS || bytes + size > MAX_REQUEST_BYTES)) {
      batches.push(current);
      current = [];
      bytes = ENVELOPE_BYTES + Buffer.byteLength(namespace);
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
