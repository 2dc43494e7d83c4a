/**
 * A fake Pinecone on 127.0.0.1 for the real @pinecone-database/pinecone client: the control plane
 * (describe / create index) and, per index, a data plane under `http://127.0.0.1:<port>/data/<name>`
 * (upsert, query, fetch, delete, describe_index_stats), with namespaces, metadata filters
 * ($eq $ne $in $nin $gt $gte $lt $lte $exists $and $or) and exact cosine scoring.
 *
 * It enforces the limits Pinecone enforces (≤ 1,000 vectors and ≤ 2 MB per upsert, metadata
 * ≤ 40 KB, dimension, non-zero dense vectors, topK ≤ 10,000, ≤ 1,000 ids per fetch/delete), so
 * tests see a request the real service would refuse. Faults can be injected per route: an HTTP
 * status (e.g. 429 with Retry-After, 500, 503), or a stall (no answer: a client timeout).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cosine } from '../../support/vectors.ts';

export const FAKE_API_KEY = 'pc-fake-key';

export interface FakeRecord {
  values: number[];
  metadata?: Record<string, unknown>;
}

export interface FakeIndex {
  name: string;
  dimension: number;
  metric: 'cosine' | 'euclidean' | 'dotproduct';
  tags?: Record<string, string>;
  spec: unknown;
  namespaces: Map<string, Map<string, FakeRecord>>;
  /** describe calls left before a new index reports ready. */
  notReadyFor: number;
}

export type Route = 'describe' | 'create' | 'upsert' | 'query' | 'fetch' | 'delete' | 'stats';

export interface Fault {
  route?: Route | '*';
  /** HTTP status to answer (429, 500, 503, …), or 'stall' to never answer. */
  status: number | 'stall';
  retryAfter?: string;
  /** How many requests this fault applies to (default 1). */
  times?: number;
}

export interface FakeRequest {
  route: Route | 'unknown';
  method: string;
  path: string;
  status: number | 'stall';
  bytes: number;
  /** Upserts: vectors in the request. */
  vectors?: number;
  /** Queries: what was asked. */
  topK?: number;
  filter?: unknown;
}

const MAX_UPSERT_VECTORS = 1000;
const MAX_UPSERT_BYTES = 2 * 1024 * 1024;
const MAX_METADATA_BYTES = 40 * 1024;

export class FakePinecone {
  readonly indexes = new Map<string, FakeIndex>();
  readonly requests: FakeRequest[] = [];
  private readonly faults: Fault[] = [];
  private readonly stalled = new Set<ServerResponse>();
  private server: Server | null = null;
  private port = 0;
  private inFlight = 0;
  /** Most requests ever being handled at once (stalled ones included). */
  maxInFlight = 0;

  constructor(readonly apiKey = FAKE_API_KEY) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  hostOf(name: string): string {
    return `${this.url}/data/${encodeURIComponent(name)}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      res.on('close', () => {
        this.inFlight--;
      });
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: String(err) } });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.stalled.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  /** Add an index directly (as if created in the console). */
  addIndex(name: string, dimension: number, metric: FakeIndex['metric'] = 'cosine'): FakeIndex {
    const index: FakeIndex = {
      name,
      dimension,
      metric,
      spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
      namespaces: new Map(),
      notReadyFor: 0,
    };
    this.indexes.set(name, index);
    return index;
  }

  /** Inject a fault for the next matching request(s). */
  fail(fault: Fault): void {
    this.faults.push({ times: 1, route: '*', ...fault });
  }

  records(index: string, namespace: string): Map<string, FakeRecord> {
    return this.indexes.get(index)?.namespaces.get(namespace) ?? new Map();
  }

  requestsTo(route: Route): FakeRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  private takeFault(route: Route): Fault | null {
    const list = this.faults;
    const i = list.findIndex((f) => f.route === '*' || f.route === route);
    if (i < 0) return null;
    const fault = list[i]!;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) list.splice(i, 1);
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const body = await readBody(req);
    const route = routeOf(req.method ?? 'GET', url.pathname);
    const record: FakeRequest = {
      route: route?.route ?? 'unknown',
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 200,
      bytes: body.length,
    };
    this.requests.push(record);
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      send(res, status, payload, headers);
    };
    if (req.headers['api-key'] !== this.apiKey) {
      reply(401, { error: { code: 'UNAUTHENTICATED', message: 'Invalid API Key' }, status: 401 });
      return;
    }
    if (!route) {
      reply(404, {
        error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` },
        status: 404,
      });
      return;
    }
    const fault = this.takeFault(route.route);
    if (fault) {
      record.status = fault.status;
      if (fault.status === 'stall') {
        this.stalled.add(res);
        res.on('close', () => this.stalled.delete(res));
        return;
      }
      reply(
        fault.status,
        { error: { code: fault.status === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE', message: 'injected' } },
        fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {},
      );
      return;
    }
    let json: Record<string, unknown> = {};
    if (body.length > 0) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        reply(400, { error: { code: 'INVALID_ARGUMENT', message: 'body is not JSON' } });
        return;
      }
    }
    const bad = (message: string) =>
      reply(400, { error: { code: 'INVALID_ARGUMENT', message }, status: 400 });

    if (route.route === 'describe') {
      const index = this.indexes.get(route.name!);
      if (!index) {
        reply(404, {
          error: { code: 'NOT_FOUND', message: `Resource ${route.name} not found` },
          status: 404,
        });
        return;
      }
      if (index.notReadyFor > 0) index.notReadyFor--;
      reply(200, this.model(index));
      return;
    }
    if (route.route === 'create') {
      const name = json.name;
      const dimension = json.dimension;
      if (typeof name !== 'string' || !/^[a-z0-9-]{1,45}$/.test(name)) return bad('invalid index name');
      if (typeof dimension !== 'number' || !Number.isInteger(dimension) || dimension < 1 || dimension > 20000)
        return bad('invalid dimension');
      if (this.indexes.has(name)) {
        reply(409, { error: { code: 'ALREADY_EXISTS', message: 'Resource already exists' }, status: 409 });
        return;
      }
      const index = this.addIndex(name, dimension, (json.metric as FakeIndex['metric']) ?? 'cosine');
      index.spec = json.spec;
      if (json.tags) index.tags = json.tags as Record<string, string>;
      index.notReadyFor = 1;
      reply(201, { ...this.model(index), status: { ready: false, state: 'Initializing' } });
      return;
    }

    const index = this.indexes.get(route.name!);
    if (!index) {
      reply(404, { error: { code: 'NOT_FOUND', message: 'index not found' }, status: 404 });
      return;
    }
    const nsOf = (name: unknown) => {
      const key = typeof name === 'string' ? name : '';
      let ns = index.namespaces.get(key);
      if (!ns) {
        ns = new Map();
        index.namespaces.set(key, ns);
      }
      return ns;
    };

    switch (route.route) {
      case 'upsert': {
        const vectors = json.vectors;
        if (!Array.isArray(vectors) || vectors.length === 0) return bad('vectors is required');
        record.vectors = vectors.length;
        if (vectors.length > MAX_UPSERT_VECTORS)
          return bad(`batch of ${vectors.length} vectors is over 1000`);
        if (body.length > MAX_UPSERT_BYTES) return bad(`request of ${body.length} bytes is over 2 MB`);
        const parsed: [string, FakeRecord][] = [];
        for (const v of vectors as Record<string, unknown>[]) {
          if (typeof v.id !== 'string' || v.id === '') return bad('vector id is required');
          const values = v.values;
          if (!Array.isArray(values) || values.length !== index.dimension)
            return bad(
              `Vector dimension ${Array.isArray(values) ? values.length : 0} does not match the dimension of the index ${index.dimension}`,
            );
          if (values.every((x) => x === 0))
            return bad('Dense vectors must contain at least one non-zero value');
          if (v.metadata !== undefined) {
            const size = Buffer.byteLength(JSON.stringify(v.metadata));
            if (size > MAX_METADATA_BYTES)
              return bad(`Metadata size is ${size} bytes, which exceeds the limit of 40960 bytes per vector`);
          }
          parsed.push([
            v.id,
            {
              values: values as number[],
              ...(v.metadata ? { metadata: v.metadata as Record<string, unknown> } : {}),
            },
          ]);
        }
        const ns = nsOf(json.namespace);
        for (const [id, r] of parsed) ns.set(id, r);
        reply(200, { upsertedCount: parsed.length });
        return;
      }
      case 'query': {
        const topK = json.topK;
        record.topK = topK as number;
        record.filter = json.filter;
        if (typeof topK !== 'number' || topK < 1 || topK > 10000) return bad('topK must be in 1..10000');
        const vector = json.vector as number[] | undefined;
        if (!Array.isArray(vector) || vector.length !== index.dimension)
          return bad('query vector dimension mismatch');
        const filter = json.filter as Record<string, unknown> | undefined;
        const ns = nsOf(json.namespace);
        const scored: { id: string; score: number; r: FakeRecord }[] = [];
        for (const [id, r] of ns) {
          if (filter && !matches(r.metadata ?? {}, filter)) continue;
          scored.push({ id, score: cosine(vector, r.values), r });
        }
        scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
        reply(200, {
          matches: scored.slice(0, topK).map((m) => ({
            id: m.id,
            score: m.score,
            ...(json.includeValues ? { values: m.r.values } : {}),
            ...(json.includeMetadata && m.r.metadata ? { metadata: m.r.metadata } : {}),
          })),
          namespace: typeof json.namespace === 'string' ? json.namespace : '',
          usage: { readUnits: 1 },
        });
        return;
      }
      case 'fetch': {
        const ids = url.searchParams.getAll('ids');
        if (ids.length === 0) return bad('ids is required');
        if (ids.length > 1000) return bad('at most 1000 ids per fetch');
        const namespace = url.searchParams.get('namespace') ?? '';
        const ns = nsOf(namespace);
        const vectors: Record<string, unknown> = {};
        for (const id of ids) {
          const r = ns.get(id);
          if (r) vectors[id] = { id, values: r.values, ...(r.metadata ? { metadata: r.metadata } : {}) };
        }
        reply(200, { vectors, namespace, usage: { readUnits: 1 } });
        return;
      }
      case 'delete': {
        const ns = nsOf(json.namespace);
        if (json.deleteAll === true) ns.clear();
        else if (Array.isArray(json.ids)) {
          if (json.ids.length > 1000) return bad('at most 1000 ids per delete');
          for (const id of json.ids) ns.delete(String(id));
        } else if (json.filter) {
          for (const [id, r] of ns)
            if (matches(r.metadata ?? {}, json.filter as Record<string, unknown>)) ns.delete(id);
        } else return bad('ids, filter or deleteAll is required');
        reply(200, {});
        return;
      }
      case 'stats': {
        const namespaces: Record<string, { vectorCount: number }> = {};
        let total = 0;
        for (const [name, ns] of index.namespaces) {
          if (ns.size === 0) continue;
          namespaces[name] = { vectorCount: ns.size };
          total += ns.size;
        }
        reply(200, { namespaces, dimension: index.dimension, indexFullness: 0, totalVectorCount: total });
        return;
      }
      default:
        reply(404, { error: { code: 'NOT_FOUND', message: 'route' } });
    }
  }

  private model(index: FakeIndex): Record<string, unknown> {
    return {
      name: index.name,
      dimension: index.dimension,
      metric: index.metric,
      host: this.hostOf(index.name),
      deletion_protection: 'disabled',
      tags: index.tags ?? null,
      spec: index.spec,
      status:
        index.notReadyFor > 0 ? { ready: false, state: 'Initializing' } : { ready: true, state: 'Ready' },
      vector_type: 'dense',
    };
  }
}

function routeOf(method: string, path: string): { route: Route; name?: string } | null {
  let m = /^\/indexes\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return { route: 'describe', name: decodeURIComponent(m[1]!) };
  if (path === '/indexes' && method === 'POST') return { route: 'create' };
  m = /^\/data\/([^/]+)(\/.*)$/.exec(path);
  if (!m) return null;
  const name = decodeURIComponent(m[1]!);
  const rest = m[2];
  if (rest === '/vectors/upsert' && method === 'POST') return { route: 'upsert', name };
  if (rest === '/query' && method === 'POST') return { route: 'query', name };
  if (rest === '/vectors/fetch' && method === 'GET') return { route: 'fetch', name };
  if (rest === '/vectors/delete' && method === 'POST') return { route: 'delete', name };
  if (rest === '/describe_index_stats') return { route: 'stats', name };
  return null;
}

function send(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Pinecone metadata filter semantics (a missing field fails $eq/$in and passes $ne/$nin). */
export function matches(meta: Record<string, unknown>, filter: Record<string, unknown>): boolean {
  for (const [key, cond] of Object.entries(filter)) {
    if (key === '$and') {
      if (!(cond as Record<string, unknown>[]).every((f) => matches(meta, f))) return false;
      continue;
    }
    if (key === '$or') {
      if (!(cond as Record<string, unknown>[]).some((f) => matches(meta, f))) return false;
      continue;
    }
    const value = meta[key];
    const ops =
      typeof cond === 'object' && cond !== null && !Array.isArray(cond)
        ? (cond as Record<string, unknown>)
        : { $eq: cond };
    for (const [op, arg] of Object.entries(ops)) {
      const has = value !== undefined;
      const eq = (x: unknown) => (Array.isArray(value) ? value.includes(x) : value === x);
      let ok: boolean;
      switch (op) {
        case '$eq':
          ok = has && eq(arg);
          break;
        case '$ne':
          ok = !has || !eq(arg);
          break;
        case '$in':
          ok = has && (arg as unknown[]).some(eq);
          break;
        case '$nin':
          ok = !has || !(arg as unknown[]).some(eq);
          break;
        case '$gt':
          ok = typeof value === 'number' && value > (arg as number);
          break;
        case '$gte':
          ok = typeof value === 'number' && value >= (arg as number);
          break;
        case '$lt':
          ok = typeof value === 'number' && value < (arg as number);
          break;
        case '$lte':
          ok = typeof value === 'number' && value <= (arg as number);
          break;
        case '$exists':
          ok = has === Boolean(arg);
          break;
        default:
          throw new Error(`unsupported filter operator ${op}`);
      }
      if (!ok) return false;
    }
  }
  return true;
}
