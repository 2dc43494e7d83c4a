/**
 * A small controllable world for engine tests: real ExactIndex and rendering, with fake
 * refiner/generator/encoder whose behaviour tests can script (failures, delays, vectors).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ExactIndex } from '../../adapters/index/exact/exact-index.ts';
import { sharpPictures } from '../../adapters/pictures/sharp/index.ts';
import { understand } from '../../adapters/refine/rules/understood.ts';
import { FileRoundImageStore } from '../../adapters/store/files.ts';
import { openSqliteStores } from '../../adapters/store/sqlite/index.ts';
import { commandSet } from '../../commands/index.ts';
import { ConversationEngine, type EngineOptions } from '../../core/engine.ts';
import { oneGallery } from '../../core/galleries.ts';
import type {
  Gallery,
  GalleryResolver,
  ImageEncoder,
  ImageGenerator,
  Logger,
  QueryRefiner,
  SearchedGallery,
} from '../../core/ports.ts';
import { createRng, hashString } from '../../core/random.ts';
import type { Asset, Reply, ThreadKey, ThreadSink } from '../../core/types.ts';
import { normalize } from '../../core/vector.ts';

export const DIM = 16;
const PRE = {
  size: 8,
  resize: 'stretch' as const,
  mean: [0, 0, 0] as [number, number, number],
  std: [1, 1, 1] as [number, number, number],
};

export function randomUnit(seed: number): Float32Array {
  const rng = createRng(seed);
  return normalize(Float32Array.from({ length: DIM }, () => rng() - 0.5));
}

/** PNG whose first pixel row encodes a seed, so the fake encoder can map it back to a vector. */
async function seededPng(seed: number): Promise<Buffer> {
  const rgb = [seed & 255, (seed >>> 8) & 255, (seed >>> 16) & 255];
  return sharp({
    create: {
      width: 8,
      height: 8,
      channels: 3,
      background: { r: rgb[0] as number, g: rgb[1] as number, b: rgb[2] as number },
    },
  })
    .png()
    .toBuffer();
}

async function seedOfPng(png: Buffer): Promise<number> {
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return (data[0] as number) | ((data[1] as number) << 8) | ((data[2] as number) << 16);
}

export class FakeRefiner implements QueryRefiner {
  readonly id = 'fake-refiner';
  fail: Error | null = null;
  calls = 0;
  async refine(input: { previous?: string; message: string }) {
    this.calls++;
    if (this.fail) throw this.fail;
    if (input.message.startsWith('start over'))
      return { query: input.message.slice(10).trim(), intent: 'restart' as const };
    // Like a refiner of free text: a link, a code block, "pick 3" without its slash are no description.
    const judged = understand(input.message, true);
    if (!judged.understood) return { query: input.previous ?? '', ...judged };
    return { query: input.previous ? `${input.previous}; ${input.message}` : input.message };
  }
}

/** Draws a PNG standing for hash(query, seed) & 0xffffff; the encoder turns that into a vector. */
export class FakeGenerator implements ImageGenerator {
  readonly id = 'fake-gen';
  fail: Error | null = null;
  /** Resolves generation only when the test says so. */
  gate: Promise<void> | null = null;
  /** Whether a generation waiting on the gate stops when its signal aborts (as real providers do). */
  honoursAbort = true;
  queries: string[] = [];
  async generate(query: string, o: { seed: number; signal: AbortSignal }) {
    this.queries.push(query);
    if (this.gate) {
      const aborted = new Promise<never>((_, reject) => {
        if (this.honoursAbort)
          o.signal.addEventListener('abort', () => reject(o.signal.reason), { once: true });
      });
      await Promise.race([this.gate, aborted]);
    }
    if (this.fail) throw this.fail;
    const seed = hashString(`${query}#${o.seed}`) & 0xffffff;
    return { png: await seededPng(seed), seed: o.seed, interpretation: `drawing of ${query}` };
  }
}

export class FakeEncoder implements ImageEncoder {
  readonly id = 'fake-enc';
  readonly dim = DIM;
  readonly preprocessing = PRE;
  async embedImages(images: Buffer[]) {
    return Promise.all(images.map(async (png) => randomUnit(await seedOfPng(png))));
  }
}

class MemoryGallery implements Gallery {
  constructor(
    private readonly assets: Map<string, Asset>,
    private readonly files: Map<string, Buffer>,
  ) {}
  async get(id: string) {
    return this.assets.get(id) ?? null;
  }
  async getMany(ids: string[]) {
    return new Map(
      ids.flatMap((id) => (this.assets.has(id) ? [[id, this.assets.get(id) as Asset] as const] : [])),
    );
  }
  async read(asset: Asset) {
    return this.files.get(asset.source) ?? null;
  }
  async count() {
    return this.assets.size;
  }
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** A recording sink: every reply and progress line, in order. */
export class RecordingSink implements ThreadSink {
  readonly replies: Reply[] = [];
  readonly progressLines: string[] = [];
  async send(reply: Reply) {
    this.replies.push(reply);
  }
  progress(text: string) {
    this.progressLines.push(text);
  }
  rounds() {
    return this.replies.flatMap((r) => (r.kind === 'round' ? [r.view] : []));
  }
  notices() {
    return this.replies.flatMap((r) => (r.kind === 'notice' ? [r.text] : []));
  }
}

/** An in-memory gallery of `count` assets `<prefix>0…`, with random unit vectors. */
export async function fakeGallery(
  name: string,
  count: number,
  prefix = 'a',
  seedBase = 10_000,
): Promise<SearchedGallery & { index: ExactIndex; vectors: Map<string, Float32Array> }> {
  const index = ExactIndex.inMemory({ encoderId: 'fake-enc', dim: DIM, preprocessing: PRE });
  const assets = new Map<string, Asset>();
  const files = new Map<string, Buffer>();
  const tile = await seededPng(1);
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < count; i++) {
    const id = `${prefix}${i}`;
    assets.set(id, { id, source: `/gallery/${id}.png`, title: `asset ${i}` });
    files.set(`/gallery/${id}.png`, tile);
    vectors.set(id, randomUnit(seedBase + i));
  }
  await index.upsert([...vectors].map(([id, vector]) => ({ id, vector })));
  return { name, index, gallery: new MemoryGallery(assets, files), vectors };
}

export async function engineWorld(
  options: Partial<EngineOptions> & { assets?: number; galleries?: GalleryResolver } = {},
) {
  const { galleries, ...engineOptions } = options;
  const searched = await fakeGallery('test', options.assets ?? 60);
  const { index, gallery, vectors } = searched;
  const stores = openSqliteStores(':memory:');
  const deps = {
    refiner: new FakeRefiner(),
    generator: new FakeGenerator(),
    encoder: new FakeEncoder(),
    index,
    gallery,
    galleries: galleries ?? oneGallery(searched),
    images: new FileRoundImageStore(await mkdtemp(join(tmpdir(), 'genir-rounds-'))),
    threads: stores.threads,
    transcripts: stores.transcripts,
    commands: commandSet,
    pictures: sharpPictures,
    logger: silentLogger,
  };
  let clock = 1_700_000_000_000;
  const advance = (ms: number) => {
    clock += ms;
  };
  // The rate limit's pauses pass on this clock, not in real time.
  const sleep = async (ms: number) => advance(ms);
  const engine = new ConversationEngine(deps, { now: () => clock++, sleep, ...engineOptions });
  let seq = 0;
  const say = (key: ThreadKey, text: string, sink: ThreadSink, extra: object = {}) =>
    engine.onMessage({ key, eventId: `e${seq++}`, userId: 'u1', text, ...extra }, sink);
  const press = (key: ThreadKey, actionId: string, sink: ThreadSink) =>
    engine.onAction({ key, eventId: `e${seq++}`, userId: 'u1', actionId }, sink);

  return { engine, deps, stores, vectors, say, press, advance };
}
