/**
 * `genir dataset` and `genir eval --dataset` on a tiny COCO-shaped fixture: the loaders, the
 * dataset-id mapping of an import, the paper's protocol with the VLM user on the fake vision
 * server and the Replicate generator on its fake, resume without repeated paid calls, --max-cost,
 * and the dataset build validated against the schema shared with the transcript export.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxImageEncoder } from '../../adapters/encode/onnx/encoder.ts';
import { genirDialogueSchema, genirJsonSchema } from '../../adapters/store/genir-format.ts';
import { galleryPaths } from '../../adapters/store/indexed-gallery.ts';
import { SqliteDatabase } from '../../adapters/store/sqlite/index.ts';
import { loadConfig } from '../../bots/config.ts';
import { buildDataset, cardSchema } from '../../scripts/dataset/build.ts';
import { DatasetImages } from '../../scripts/dataset/ids.ts';
import { recordDatasetIds, writeImageList } from '../../scripts/dataset/import.ts';
import { loadDataset, parseCsv } from '../../scripts/dataset/loaders.ts';
import { SCHEMA_FILE, schemaText } from '../../scripts/dataset/schema.ts';
import { BudgetExceededError } from '../../scripts/eval/call-cache.ts';
import { costPlan } from '../../scripts/eval/costs.ts';
import type { DialogueRecord } from '../../scripts/eval/report.ts';
import { runEval } from '../../scripts/eval/run.ts';
import { openGalleryWorld, refuseUnrankableIndex } from '../../scripts/eval/worlds.ts';
import { indexGallery } from '../../scripts/index-gallery/index.ts';
import { type FakeVisionServer, startFakeVisionServer, userParts } from '../fakes/openai-vision/server.ts';
import { FakeReplicate } from '../fakes/replicate/server.ts';
import { type DatasetFixture, makeDatasetFixture } from '../support/dataset-fixture.ts';
import { genir } from '../support/genir-cli.ts';

let dir: string;
let fx: DatasetFixture;
let encoder: OnnxImageEncoder;
const GALLERY = 'coco-tiny';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-dataset-'));
  fx = await makeDatasetFixture(join(dir, 'coco'));
  encoder = await OnnxImageEncoder.load({ modelPath: 'models/tiny-encoder.onnx' });
});
afterAll(async () => {
  await encoder.close();
  await rm(dir, { recursive: true, force: true });
});

describe('loaders', () => {
  it('reads COCO captions JSON: COCO ids, files, every caption', async () => {
    const entries = await loadDataset('coco', { images: fx.images, annotations: fx.coco });
    expect(entries.map((e) => e.id)).toEqual(fx.ids.map(String));
    expect(entries[0]?.file).toBe(join(fx.images, fx.files[0] as string));
    expect(entries[3]?.captions).toEqual(fx.captions.get(fx.ids[3] as number));
  });

  it('reads Flickr30k results.csv (pipe-separated) and Karpathy split JSON', async () => {
    const flickr = await loadDataset('flickr30k', { images: fx.images, annotations: fx.flickrCsv });
    expect(flickr.map((e) => e.id)).toEqual(fx.files);
    expect(flickr[2]?.captions).toEqual(fx.captions.get(fx.ids[2] as number));
    const test = await loadDataset('coco', { images: fx.images, annotations: fx.karpathy, split: 'test' });
    expect(test.map((e) => e.id)).toEqual(fx.ids.filter((_, i) => i % 2).map(String));
    expect(test[0]?.captions).toHaveLength(2);
  });

  it("reads ChatIR's corpus list and a folder CSV with quoted captions", async () => {
    const list = join(dir, 'corpus.json');
    await writeFile(list, JSON.stringify(fx.files.slice(0, 3)));
    const chatir = await loadDataset('chatir', { images: fx.images, annotations: list });
    expect(chatir.map((e) => e.id)).toEqual(fx.files.slice(0, 3));
    const csv = join(dir, 'folder.csv');
    await writeFile(csv, `file,caption\n${fx.files[0]},"a cat, on a ""red"" mat"\n${fx.files[0]},second\n`);
    const folder = await loadDataset('folder', { images: fx.images, annotations: csv });
    expect(folder).toEqual([
      {
        id: fx.files[0],
        file: join(fx.images, fx.files[0] as string),
        captions: ['a cat, on a "red" mat', 'second'],
      },
    ]);
    expect(parseCsv('a|b\r\n"x|y"|z', '|')).toEqual([
      ['a', 'b'],
      ['x|y', 'z'],
    ]);
  });

  it('says what is wrong with a bad annotation file', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ images: [{ file_name: 3 }] }));
    await expect(loadDataset('coco', { images: fx.images, annotations: bad })).rejects.toThrow(
      /is not COCO captions JSON .*: images\.0\.id/,
    );
    await expect(loadDataset('folder', { images: fx.images, annotations: fx.coco })).rejects.toThrow(
      /file,caption/,
    );
    await expect(
      loadDataset('coco', { images: fx.images, annotations: fx.coco, split: 'test' }),
    ).rejects.toThrow(/--split applies to Karpathy's split JSON only/);
  });
});

describe('import, eval --dataset and dataset build on the fixture', () => {
  let vision: FakeVisionServer;
  let replicate: FakeReplicate;
  const dataDir = () => join(dir, 'data');
  const config = () =>
    loadConfig(
      {
        DATA_DIR: dataDir(),
        GENERATOR: 'replicate',
        REPLICATE_API_TOKEN: replicate.token,
        REPLICATE_BASE_URL: replicate.url,
        REPLICATE_MODEL: 'black-forest-labs/flux-schnell',
      },
      { dotenv: false },
    );
  const world = (out: string, targets: string, maxCostUsd?: number) =>
    openGalleryWorld({
      config: config(),
      gallery: GALLERY,
      targets,
      seed: 1,
      encoder,
      vlm: { baseURL: vision.url, model: 'gpt-4o-mini' },
      paid: { cacheDir: join(out, 'cache'), ...(maxCostUsd !== undefined ? { maxCostUsd } : {}) },
    });
  const records = async (out: string): Promise<DialogueRecord[]> =>
    (await readFile(join(out, 'results.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  beforeAll(async () => {
    let n = 0;
    vision = await startFakeVisionServer((request) => {
      const { texts } = userParts(request);
      if (texts.some((t) => t.startsWith('Describe this image'))) return 'a few shapes on a plain background';
      n++;
      return JSON.stringify({
        difference: `make it more like the target, take ${n}`,
        description: `shapes ${n}`,
      });
    });
    replicate = await FakeReplicate.start();
    const entries = await loadDataset('coco', { images: fx.images, annotations: fx.coco });
    const galleryDir = join(dataDir(), 'galleries', GALLERY);
    const list = await writeImageList(galleryDir, entries);
    await indexGallery({
      sources: [list],
      dir: galleryDir,
      name: GALLERY,
      encoder,
      index: { kind: 'exact' },
    });
    recordDatasetIds(galleryPaths(galleryDir).db, entries, { kind: 'coco' });
  });
  afterAll(async () => {
    await vision.close();
    await replicate.close();
  });

  it('keeps each COCO id beside the content id of its image, with its captions', async () => {
    const db = SqliteDatabase.open(galleryPaths(join(dataDir(), 'galleries', GALLERY)).db, {
      readonly: true,
    });
    try {
      const images = new DatasetImages(db).all();
      expect(images).toHaveLength(fx.ids.length);
      const first = images[0];
      const bytes = await readFile(join(fx.images, fx.files[0] as string));
      expect(first?.datasetId).toBe(String(fx.ids[0]));
      expect(first?.assetId).toBe(`img-${createHash('sha256').update(bytes).digest('hex').slice(0, 24)}`);
      expect(first?.captions).toEqual(fx.captions.get(fx.ids[0] as number));
      expect(new DatasetImages(db).meta()).toMatchObject({ kind: 'coco', count: fx.ids.length });
    } finally {
      db.close();
    }
  });

  it('refuses Pinecone, which cannot rank the whole gallery', () => {
    expect(() => refuseUnrankableIndex({ ...config(), VECTOR_INDEX: 'pinecone' })).toThrow(/at most 10,000/);
  });

  it('runs the protocol on targets named by COCO id, and a resumed run repays nothing', async () => {
    const out = join(dir, 'eval');
    const targets = join(dir, 'targets.txt');
    await writeFile(targets, `# COCO ids\n${fx.ids[4]}\n${fx.ids[9]}\n`);
    const w = await world(out, targets);
    const rounds = 2;
    try {
      expect(w.description.datasetTargets).toEqual([String(fx.ids[4]), String(fx.ids[9])]);
      await runEval(w, {
        out,
        rounds,
        seed: 1,
        conditions: ['visual', 'verbal'],
        transcripts: 'off',
        budget: w.cache?.budget,
      });
      const recs = await records(out);
      expect(recs).toHaveLength(4);
      for (const r of recs) {
        expect(r.errors).toEqual([]);
        expect(r.raw).toHaveLength(rounds + 1);
        expect(r.turns[0]?.message).toBe('a few shapes on a plain background');
      }
      // The comparison prompt names the bot's query as the drawing's source, not the user's caption.
      const compares = vision.requests.filter((q) => userParts(q).images.length === 2);
      expect(compares.length).toBe(2 * rounds);
      for (const q of compares) {
        const text = userParts(q).texts.join(' ');
        const query = /search query: "([^"]*)"/.exec(text)?.[1];
        expect(query).toBeTruthy();
        expect(recs.some((r) => r.turns.some((t) => t.query === query))).toBe(true);
        expect(text).not.toMatch(/generated from this description/);
      }
      // Round 0 (description and first drawing) is shared by the conditions of a target.
      const plan = costPlan({
        targets: 2,
        roundsPerCondition: [rounds, rounds],
        generatorId: w.generator.id,
        vlmModel: 'gpt-4o-mini',
        prices: w.prices,
      });
      expect(vision.requests.length).toBe(plan.vlmCalls);
      expect(replicate.creates().length).toBeLessThanOrEqual(plan.generatorCalls);
      expect(plan.generatorPrice).toBe(0.003);
    } finally {
      await w.close();
    }

    // Interrupted: the last dialogue is lost; the rerun replays it from the cache.
    const lines = (await readFile(join(out, 'results.jsonl'), 'utf8')).split('\n').filter(Boolean);
    await writeFile(join(out, 'results.jsonl'), `${lines.slice(0, 2).join('\n')}\n`);
    const vlmBefore = vision.requests.length;
    const genBefore = replicate.creates().length;
    const again = await world(out, targets);
    try {
      const summary = await runEval(again, {
        out,
        rounds,
        seed: 1,
        conditions: ['visual', 'verbal'],
        transcripts: 'off',
        budget: again.cache?.budget,
      });
      expect(summary.ran).toBe(2);
      expect(vision.requests.length).toBe(vlmBefore);
      expect(replicate.creates().length).toBe(genBefore);
      expect(again.cache?.hits.vlm).toBeGreaterThan(0);
      expect(again.cache?.misses).toEqual({});
    } finally {
      await again.close();
    }
  });

  it('--max-cost stops cleanly, and a higher limit resumes without paying twice', async () => {
    const out = join(dir, 'eval-cost');
    const first = await world(out, '3', 0.02);
    const calls0 = { vlm: vision.requests.length, gen: replicate.creates().length };
    try {
      await expect(
        runEval(first, {
          out,
          rounds: 2,
          seed: 1,
          conditions: ['visual'],
          transcripts: 'off',
          budget: first.cache?.budget,
        }),
      ).rejects.toThrow(BudgetExceededError);
      expect(first.cache?.budget.spentUsd).toBeLessThanOrEqual(0.02);
    } finally {
      await first.close();
    }
    const paidFirst = {
      vlm: vision.requests.length - calls0.vlm,
      gen: replicate.creates().length - calls0.gen,
    };
    expect(paidFirst.gen).toBeGreaterThan(0);
    expect(paidFirst.gen).toBeLessThan(3 * 3);
    const done = await records(out).catch(() => []);
    expect(done.length).toBeLessThan(3);

    const second = await world(out, '3', 10);
    try {
      await runEval(second, {
        out,
        rounds: 2,
        seed: 1,
        conditions: ['visual'],
        transcripts: 'off',
        budget: second.cache?.budget,
      });
      expect(await records(out)).toHaveLength(3);
      // The dialogue dropped at the limit is replayed from the cache: each image is paid once in all.
      expect(Object.values(second.cache?.hits ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(replicate.creates().length - calls0.gen).toBe(3 * 3);
    } finally {
      await second.close();
    }
  });

  it('dataset build writes GenIR dialogues that validate against the shared schema, with a card', async () => {
    const out = join(dir, 'build');
    const w = await world(join(out, 'run'), '4');
    try {
      const { card, dir: dialogues } = await buildDataset(w, {
        out,
        name: 'coco-tiny-genir',
        rounds: 2,
        seed: 1,
        licence: 'CC BY 4.0 (fixture)',
      });
      expect(cardSchema.parse(JSON.parse(await readFile(join(out, 'card.json'), 'utf8')))).toMatchObject({
        licence: 'CC BY 4.0 (fixture)',
        counts: { dialogues: 4, rounds: 12 },
        models: { generator: 'replicate:black-forest-labs/flux-schnell', vlm: { model: 'gpt-4o-mini' } },
      });
      expect(card.costs.usd).toBeGreaterThan(0);
      const ids = new Set(fx.ids.map(String));
      const files = card.targets.map((t) => t.dataset_id);
      for (const id of files) expect(ids.has(id as string)).toBe(true);
      const { readdir } = await import('node:fs/promises');
      const jsons = (await readdir(dialogues)).filter((f) => f.endsWith('.json'));
      expect(jsons).toHaveLength(4);
      for (const f of jsons) {
        const d = genirDialogueSchema.parse(JSON.parse(await readFile(join(dialogues, f), 'utf8')));
        expect(d.rounds).toHaveLength(3);
        expect(ids.has(d.target?.dataset_id as string)).toBe(true);
        for (const r of d.rounds) {
          expect(r.generated_image_path).not.toBeNull();
          await readFile(join(dialogues, r.generated_image_path as string));
        }
      }
      expect(await readFile(join(dialogues, 'README.md'), 'utf8')).toMatch(/Dataset card: coco-tiny-genir/);
    } finally {
      await w.close();
    }
  });

  it('the committed JSON Schema file is the one zod emits', async () => {
    expect(JSON.parse(await readFile(SCHEMA_FILE, 'utf8'))).toEqual(JSON.parse(schemaText()));
    expect(genirJsonSchema()).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['dialogue_id', 'rounds']),
    });
  });
});

describe('the commands', { timeout: 120_000 }, () => {
  it('dataset import folder, then eval --dataset prints the expected cost and stops at --max-cost (exit 3)', async () => {
    const vision = await startFakeVisionServer(() => 'a few shapes');
    try {
      const env = { DATA_DIR: join(dir, 'cli-data'), GENERATOR: 'sketch', VECTOR_INDEX: 'exact' };
      const csv = join(dir, 'cli.csv');
      await writeFile(
        csv,
        `file,caption\n${fx.files
          .slice(0, 12)
          .map((f) => `${f},shapes`)
          .join('\n')}\n`,
      );
      const imported = await genir(
        ['dataset', 'import', 'folder', '--images', fx.images, '--annotations', csv, '--name', 'cli-set'],
        env,
      );
      expect(imported.stderr).not.toMatch(/genir:/);
      expect(imported.code).toBe(0);
      expect(imported.stdout).toMatch(
        /Dataset ids recorded: 12 of 12 images can be named by their folder id/,
      );
      const targets = join(dir, 'cli-targets.txt');
      await writeFile(targets, `${fx.files[1]}\n`);
      const args = ['eval', '--dataset', 'cli-set', '--targets', targets, '--rounds', '1'];
      const vlm = ['--vlm-base-url', vision.url, '--vlm-model', 'gpt-4o-mini', '--out', join(dir, 'cli-out')];
      const stopped = await genir([...args, ...vlm, '--max-cost', '0'], env);
      expect(stopped.code).toBe(3);
      expect(stopped.stderr).toMatch(/VLM user gpt-4o-mini: 3 calls, \$0\.0003 each/);
      expect(stopped.stderr).toMatch(/stopped at the cost limit: \$0\.0000 spent of --max-cost \$0\.0000/);
      expect(vision.requests).toHaveLength(0);
    } finally {
      await vision.close();
    }
  });
});
