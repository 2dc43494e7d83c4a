/**
 * The perceiving-user world end to end on a small gallery: every condition wired through the real
 * engine, full-length dialogues, raw and unshown ranks, and the sanity check of the eval itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxImageEncoder } from '../../../adapters/encode/onnx/encoder.ts';
import type { SketchErrors } from '../../../adapters/generate/sketch/index.ts';
import { loadConfig } from '../../../bots/config.ts';
import { NO_NOISE } from '../../../scripts/eval/pixel-user.ts';
import { openPixelWorld } from '../../../scripts/eval/pixel-world.ts';
import type { DialogueRecord } from '../../../scripts/eval/report.ts';
import { CONDITION_NAMES, runEval } from '../../../scripts/eval/run.ts';
import { evalStats } from '../../../scripts/eval/stats.ts';

const GALLERY = 80;
const ROUNDS = 2;
let dir: string;
let encoder: OnnxImageEncoder;
const config = loadConfig({}, { dotenv: false });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-pixel-eval-'));
  encoder = await OnnxImageEncoder.load({ modelPath: 'models/tiny-encoder.onnx' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(
  name: string,
  options: {
    targets: number;
    seed: number;
    errors?: Partial<SketchErrors>;
    conditions?: typeof CONDITION_NAMES;
  },
): Promise<DialogueRecord[]> {
  const world = await openPixelWorld({
    config,
    size: GALLERY,
    gallerySeed: 1,
    style: 'flat',
    crowd: 0,
    targets: options.targets,
    seed: options.seed,
    noise: NO_NOISE,
    errors: options.errors ?? {},
    dataDir: join(dir, 'gallery'),
    encoder,
  });
  try {
    const summary = await runEval(world, {
      out: join(dir, name),
      rounds: ROUNDS,
      seed: options.seed,
      conditions: options.conditions ?? CONDITION_NAMES,
      transcripts: 'off',
    });
    return summary.records;
  } finally {
    await world.close();
  }
}

describe('the perceiving world, every condition', () => {
  let records: DialogueRecord[];
  beforeAll(async () => {
    records = await run('all', { targets: 3, seed: 1 });
  }, 240_000);

  it('runs every condition to the last round with no errors', () => {
    expect(new Set(records.map((r) => r.condition))).toEqual(new Set(CONDITION_NAMES));
    for (const r of records) {
      expect(r.errors).toEqual([]);
      expect(r.raw).toHaveLength(ROUNDS + 1);
      expect(r.turns).toHaveLength(r.condition === 'round0' ? 1 : ROUNDS + 1);
    }
  });

  it('starts every condition from the same full description of the target as seen', () => {
    for (const target of new Set(records.map((r) => r.target))) {
      const first = records.filter((r) => r.target === target).map((r) => r.turns[0]);
      expect(new Set(first.map((t) => t?.message)).size).toBe(1);
      expect(new Set(first.map((t) => t?.raw)).size).toBe(1);
    }
  });

  it('keeps the raw rank over the whole gallery apart from the rank among unshown images', () => {
    for (const r of records) {
      for (const t of r.turns) {
        expect(t.raw).toBeGreaterThanOrEqual(0);
        expect(t.raw).toBeLessThan(GALLERY);
        if (r.foundAt === null || t.round <= r.foundAt) expect(t.unshown).toBeLessThanOrEqual(t.raw);
      }
    }
    // Seen-exclusion changes what is shown, not the search vector: the raw ranks agree with visual.
    const byKey = new Map(records.map((r) => [`${r.condition}|${r.target}`, r]));
    for (const r of records.filter((x) => x.condition === 'visual+exclusion'))
      expect(r.raw).toEqual(byKey.get(`visual|${r.target}`)?.raw);
  });
});

describe('sanity check of the eval itself', () => {
  it('error-free generator, no style gap: visual and verbal agree within the confidence interval', async () => {
    const records = await run('sanity', { targets: 8, seed: 2, conditions: ['visual', 'verbal'] });
    const stats = evalStats([{ seed: 2, records }]);
    for (const d of stats.conditions.verbal?.versus ?? []) {
      expect(d.low).toBeLessThanOrEqual(0);
      expect(d.high).toBeGreaterThanOrEqual(0);
    }
  }, 240_000);

  it('with hallucinations the visual user sees and removes them; the verbal user cannot', async () => {
    const records = await run('hallucination', {
      targets: 6,
      seed: 3,
      conditions: ['visual', 'verbal'],
      errors: { hallucination: 1 },
    });
    const removals = (condition: string) =>
      records
        .filter((r) => r.condition === condition)
        .flatMap((r) => r.turns.slice(1).map((t) => t.message))
        .filter((m) => /there is no |remove the |get rid of the |was not there/.test(m));
    expect(removals('visual').length).toBeGreaterThan(0);
    expect(removals('verbal')).toEqual([]);
  }, 240_000);
});
