/**
 * `genir eval` end to end on the tiny ideal (closed-loop) world: the real engine, the demo gallery,
 * caption-reading users, all output files, the paper's protocol, resuming, and the VLM user
 * against a fake OpenAI-compatible server. The perceiving world: tests/scripts/eval/*.test.ts.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxImageEncoder } from '../../adapters/encode/onnx/encoder.ts';
import type { Progress } from '../../adapters/progress/index.ts';
import type { Dialogue } from '../../adapters/store/transcript-export.ts';
import { loadConfig } from '../../bots/config.ts';
import type { DialogueRecord, EvalResults } from '../../scripts/eval/report.ts';
import { runEval } from '../../scripts/eval/run.ts';
import type { SimulatedUser } from '../../scripts/eval/users.ts';
import { type OpenedWorld, openSceneWorld } from '../../scripts/eval/worlds.ts';
import { type FakeVisionServer, startFakeVisionServer, userParts } from '../fakes/openai-vision/server.ts';

const GALLERY = 100;
const TARGETS = 5;
const ROUNDS = 3;

let dir: string;
let encoder: OnnxImageEncoder;
const config = loadConfig({}, { dotenv: false });

const readRecords = async (out: string): Promise<DialogueRecord[]> =>
  (await readFile(join(out, 'results.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

function countingProgress(): Progress & { last: number; total: number } {
  const p = {
    last: -1,
    total: 0,
    start(total: number) {
      p.total = total;
    },
    update(done: number) {
      p.last = done;
    },
    stop() {},
  };
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-eval-'));
  encoder = await OnnxImageEncoder.load({ modelPath: 'models/tiny-encoder.onnx' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sceneWorld = (extra: Partial<Parameters<typeof openSceneWorld>[0]> = {}) =>
  openSceneWorld({
    config,
    size: GALLERY,
    gallerySeed: 1,
    targets: TARGETS,
    seed: 1,
    dataDir: join(dir, 'data'),
    encoder,
    ...extra,
  });

describe('genir eval on a tiny ideal world', () => {
  let world: OpenedWorld;
  const out = () => join(dir, 'out');

  beforeAll(async () => {
    world = await sceneWorld();
  });
  afterAll(() => world.close());

  it('runs two conditions over the same targets and writes every output file', async () => {
    const progress = countingProgress();
    const summary = await runEval(world, {
      out: out(),
      rounds: ROUNDS,
      seed: 1,
      conditions: ['visual', 'verbal'],
      concurrency: 2,
      progress,
    });
    expect(summary.ran).toBe(TARGETS * 2);
    expect(progress.total).toBe(TARGETS * 2);
    expect(progress.last).toBe(TARGETS * 2);

    const results = JSON.parse(await readFile(join(out(), 'results.json'), 'utf8')) as EvalResults;
    expect(results.gallerySize).toBe(GALLERY);
    expect(Object.keys(results.conditions)).toEqual(['visual', 'verbal']);
    for (const c of Object.values(results.conditions)) {
      expect(c.targets).toBe(TARGETS);
      expect(c.metrics.hits['10']).toHaveLength(ROUNDS + 1);
      expect(c.unshownMetrics.recall['1']).toHaveLength(ROUNDS + 1);
      expect(Number.isFinite(c.metrics.bri)).toBe(true);
    }

    const csv = (await readFile(join(out(), 'results.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toMatch(/^condition,rank,round,hits@1,hits@5,hits@10,recall@1/);
    expect(csv).toHaveLength(1 + 2 * 2 * (ROUNDS + 1));
    const md = await readFile(join(out(), 'results.md'), 'utf8');
    expect(md).toMatch(/\| Hits@10 \(%\) by round +\| +0 \| +1 \| +2 \| +3 \|/);
    expect(md).toMatch(/\| visual +\|/);

    const plot = await sharp(await readFile(join(out(), 'plot.png'))).metadata();
    expect(plot.format).toBe('png');
    expect(plot.width).toBeGreaterThan(600);

    // Every dialogue as a transcript; picked targets carry label 1 and the target as image_id.
    const records = await readRecords(out());
    expect(records).toHaveLength(TARGETS * 2);
    for (const name of ['visual', 'verbal']) {
      const files = (await readdir(join(out(), 'transcripts', name))).filter((f) => f.endsWith('.json'));
      expect(files).toHaveLength(TARGETS);
      for (const r of records.filter((x) => x.condition === name)) {
        const d = JSON.parse(
          await readFile(join(out(), 'transcripts', name, `${r.dialogueId}.json`), 'utf8'),
        ) as Dialogue;
        expect(d.rounds.map((x) => x.user_message)).toEqual(r.turns.map((t) => t.message));
        expect(d.image_id).toBe(r.foundAt === null ? null : r.target);
        if (r.foundAt !== null) expect(d.rounds[r.foundAt]?.label).toBe(1);
        const first = d.rounds[0];
        expect(first?.generated_image_path).toMatch(/round_0\.png$/);
      }
    }
  });

  it('runs every round, records the pick, and measures raw and unshown ranks', async () => {
    const records = await readRecords(out());
    for (const r of records) {
      expect(r.errors).toEqual([]);
      // The paper's protocol: the dialogue goes on after the pick.
      expect(r.turns).toHaveLength(ROUNDS + 1);
      expect(r.raw).toEqual(r.turns.map((t) => t.raw));
      expect(r.unshown).toEqual(r.turns.map((t) => t.unshown));
      expect(r.turns[0]?.message).toBe(r.turns[0]?.query);
      for (const t of r.turns) {
        // No seen-exclusion in these conditions: shown ⇔ in the raw top 10.
        expect(t.shown).toBe(t.raw < 10);
        // Until it is found, leaving out what was shown can only move the target up.
        if (r.foundAt === null || t.round <= r.foundAt) expect(t.unshown).toBeLessThanOrEqual(t.raw);
      }
      const first = r.turns.findIndex((t) => t.shown);
      expect(r.foundAt).toBe(first >= 0 ? first : null);
    }
    const seenAgain = records.filter((r) => r.turns.filter((t) => t.shown).length > 1);
    for (const r of seenAgain) {
      // Shown again after the pick: no unshown rank of its own, it keeps the one it was found at.
      const at = r.foundAt as number;
      for (const t of r.turns.slice(at + 1)) if (t.shown) expect(t.unshown).toBe(r.turns[at]?.unshown);
    }
    // Round 0 of each target, recomputed by hand: embed the exported synthetic image, rank the gallery.
    const r = records.find((x) => x.condition === 'visual') as DialogueRecord;
    const png = await readFile(join(out(), 'transcripts', 'visual', r.dialogueId, 'round_0.png'));
    const [vector] = await encoder.embedImages([png]);
    const ranking = await world.index.search(vector as Float32Array, GALLERY);
    expect(ranking.findIndex((h) => h.id === r.target)).toBe(r.turns[0]?.raw);
    // Both conditions start from the same first description and picture.
    const verbal = records.find((x) => x.condition === 'verbal' && x.target === r.target) as DialogueRecord;
    expect(verbal.turns[0]).toEqual(r.turns[0]);
  });

  it('resumes: finished dialogues are skipped, a torn last line is run again', async () => {
    const path = join(out(), 'results.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    const kept = lines.slice(0, 7);
    await writeFile(path, `${kept.join('\n')}\n${lines[7]?.slice(0, 40)}`);
    const summary = await runEval(world, {
      out: out(),
      rounds: ROUNDS,
      seed: 1,
      conditions: ['visual', 'verbal'],
      transcripts: 'off',
    });
    expect(summary.skipped).toBe(7);
    expect(summary.ran).toBe(3);
    const after = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    expect(after.slice(0, 7)).toEqual(kept);
    expect(after).toHaveLength(TARGETS * 2);
    // Re-run dialogues are the same as before (deterministic users, seeds from the thread).
    expect(new Set(after)).toEqual(new Set(lines));

    await expect(
      runEval(world, { out: out(), rounds: ROUNDS + 1, seed: 1, conditions: ['visual'] }),
    ).rejects.toThrow(/different run \(rounds changed\)/);
  });
});

describe('genir eval baselines on the tiny world', () => {
  let world: OpenedWorld;
  beforeAll(async () => {
    world = await sceneWorld();
  });
  afterAll(() => world.close());

  it('round 0 only stops after the first round, its rank carried on', async () => {
    const out = join(dir, 'out-round0');
    await runEval(world, { out, rounds: ROUNDS, seed: 1, conditions: ['round0'], transcripts: 'off' });
    const records = await readRecords(out);
    expect(records).toHaveLength(TARGETS);
    for (const r of records) {
      expect(r.turns).toHaveLength(1);
      expect(r.unshown).toEqual(Array(ROUNDS + 1).fill(r.turns[0]?.unshown));
    }
  });

  it('relevance feedback: "/more n" at most once per drawing, then a correction, none after the pick', async () => {
    // A user who always finds a closer match and whose corrections change nothing.
    const eager: SimulatedUser = {
      kind: 'eager',
      describe: async () => 'a small black cross at the top left on a yellow background',
      respond: async () => 'the cross is small',
      closerMatch: async () => 1,
    };
    const out = join(dir, 'out-rf');
    await runEval(
      { ...world, makeUser: async () => eager },
      { out, rounds: 4, seed: 1, conditions: ['visual+feedback'], transcripts: 'off' },
    );
    const records = await readRecords(out);
    const long = records.filter((r) => r.turns.length >= 3);
    expect(long.length).toBeGreaterThan(0);
    for (const r of records) {
      const expected = [
        'a small black cross at the top left on a yellow background',
        '/more 1',
        'the cross is small',
        '/more 1',
        'the cross is small',
      ];
      const beforePick = (r.foundAt ?? 4) + 1;
      expect(r.turns.slice(0, beforePick).map((t) => t.message)).toEqual(expected.slice(0, beforePick));
      for (const t of r.turns.slice(beforePick)) expect(t.message).toBe('the cross is small');
      // A feedback round draws nothing new.
      for (const t of r.turns) expect(t.interpretation === null).toBe(t.message.startsWith('/more'));
    }
  });
});

describe('genir eval with the VLM user on the offline world', () => {
  let server: FakeVisionServer;
  let world: OpenedWorld;

  beforeAll(async () => {
    let turn = 0;
    server = await startFakeVisionServer((request) => {
      const { texts } = userParts(request);
      if (texts.some((t) => t.startsWith('Describe this image'))) return 'a red circle';
      turn++;
      return JSON.stringify({
        difference: `the circle is ${turn % 2 ? 'large' : 'small'}`,
        description: 'a circle',
      });
    });
    world = await sceneWorld({ targets: 2, vlm: { baseURL: server.url, model: 'fake-vlm' } });
  });
  afterAll(async () => {
    await world.close();
    await server.close();
  });

  it('drives the engine with what the vision model says', async () => {
    const out = join(dir, 'out-vlm');
    await runEval(world, { out, rounds: 2, seed: 1, conditions: ['visual', 'verbal'], transcripts: 'off' });
    const records = await readRecords(out);
    expect(records).toHaveLength(4);
    for (const r of records) {
      expect(r.errors).toEqual([]);
      expect(r.turns[0]?.message).toBe('a red circle');
      for (const t of r.turns.slice(1)) expect(t.message).toMatch(/^the circle is (large|small)$/);
    }
    const compares = server.requests.filter((q) => !userParts(q).texts.some((t) => t.startsWith('Describe')));
    expect(compares.length).toBeGreaterThan(0);
    // Visual rounds send target + synthetic image; verbal rounds only the target.
    const imageCounts = new Set(compares.map((q) => userParts(q).images.length));
    expect([...imageCounts].every((n) => n === 1 || n === 2)).toBe(true);
    const visualTurns = records
      .filter((r) => r.condition === 'visual')
      .reduce((s, r) => s + r.turns.length - 1, 0);
    expect(compares.filter((q) => userParts(q).images.length === 2)).toHaveLength(visualTurns);
  });
});
