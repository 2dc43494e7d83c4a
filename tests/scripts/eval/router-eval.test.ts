/**
 * The router conditions of `genir eval` end to end on a small gallery: every router wired through
 * the real engine, generator calls counted, text rounds shown as words, the oracle's and the
 * probe's counterfactual ranks, the learned router trained from a probed run, and the report.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxImageEncoder } from '../../../adapters/encode/onnx/encoder.ts';
import { loadConfig } from '../../../bots/config.ts';
import { ROUTER_FEATURES } from '../../../core/router.ts';
import { NO_NOISE } from '../../../scripts/eval/pixel-user.ts';
import { openPixelWorld } from '../../../scripts/eval/pixel-world.ts';
import type { DialogueRecord } from '../../../scripts/eval/report.ts';
import { routerMarkdown, routerTable } from '../../../scripts/eval/router-report.ts';
import { runEval } from '../../../scripts/eval/run.ts';
import { examplesOf, fitLogistic, thresholdFor } from '../../../scripts/eval/train-router.ts';

const ROUNDS = 3;
let dir: string;
let encoder: OnnxImageEncoder;
let records: DialogueRecord[];
const config = loadConfig({}, { dotenv: false });
const CONDITIONS = ['visual', 'router=heuristic', 'router=never', 'router=oracle', 'router=random@0.5'];

async function run(name: string, conditions: string[], probe = false): Promise<DialogueRecord[]> {
  const world = await openPixelWorld({
    config,
    size: 80,
    gallerySeed: 1,
    style: 'flat',
    crowd: 0,
    targets: 3,
    seed: 5,
    noise: NO_NOISE,
    errors: { randomFill: 0.5 },
    dataDir: join(dir, 'gallery'),
    encoder,
  });
  try {
    const summary = await runEval(world, {
      out: join(dir, name),
      rounds: ROUNDS,
      seed: 5,
      conditions,
      transcripts: 'off',
      routerProbe: probe,
    });
    return summary.records;
  } finally {
    await world.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-router-eval-'));
  encoder = await OnnxImageEncoder.load({ modelPath: 'models/tiny-encoder.onnx' });
  records = await run('routers', CONDITIONS, true);
}, 240_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const of = (condition: string) => records.filter((r) => r.condition === condition);

describe('router conditions', () => {
  it('run every dialogue to the last round without errors and count generator calls', () => {
    expect(new Set(records.map((r) => r.condition))).toEqual(new Set(CONDITIONS));
    for (const r of records) {
      expect(r.errors).toEqual([]);
      expect(r.turns).toHaveLength(ROUNDS + 1);
      expect(r.generatorCalls).toBe(r.turns.filter((t) => t.drawn).length);
    }
    for (const r of of('visual')) expect(r.generatorCalls).toBe(ROUNDS + 1);
  });

  it('route every correction, log its features, and show text rounds as words', () => {
    for (const r of of('router=never')) {
      expect(r.turns[0]?.route?.decision).toBe('draw');
      for (const t of r.turns.slice(1)) {
        // A round the person asked to redraw is not the router's to decide.
        if (t.message === '/regen') expect(t.drawn).toBe(true);
        else expect(t).toMatchObject({ drawn: false, route: { decision: 'text' } });
      }
    }
    const routed = records.flatMap((r) => r.turns.flatMap((t) => (t.route ? [t.route] : [])));
    for (const route of routed) expect(route.features).toHaveLength(ROUTER_FEATURES.length);
  });

  it('probe both outcomes of every decision with a picture, and the oracle draws only for a new top-10 hit', () => {
    const probed = records.flatMap((r) => r.turns.flatMap((t) => (t.route?.probe ? [t] : [])));
    expect(probed.length).toBeGreaterThan(0);
    for (const r of of('router=oracle'))
      for (const t of r.turns.slice(1)) {
        const p = t.route?.probe;
        if (p && t.route?.decision === 'draw') expect(p.draw < 10 && p.text >= 10).toBe(true);
        // A text round searches with the last vector: its rank is the probe's "text" rank.
        if (p && t.route?.decision === 'text') expect(t.raw).toBe(p.text);
      }
  });

  it('train a logistic router from the probed decisions', () => {
    const examples = examplesOf(records);
    const weights = fitLogistic(examples, { steps: 200, rate: 0.05, l2: 0.01 });
    expect(weights).toHaveLength(ROUTER_FEATURES.length);
    expect(weights.every(Number.isFinite)).toBe(true);
    const t = thresholdFor(weights, examples, 0.5);
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThan(1);
  });

  it('report Hits@10, calls per dialogue and the Pareto plot', async () => {
    const rows = await routerTable(join(dir, 'routers'), ROUNDS);
    const visual = rows.find((r) => r.condition === 'visual');
    expect(visual?.calls.estimate).toBe(ROUNDS + 1);
    expect(rows.find((r) => r.condition === 'router=heuristic')?.vsRandom?.condition).toBe(
      'router=random@0.5',
    );
    const md = routerMarkdown(rows, ROUNDS);
    expect(md).toContain('`router=oracle`');
    expect(md.split('\n').filter((l) => l.startsWith('| `'))).toHaveLength(CONDITIONS.length);
  });

  it('refuse an unknown router condition', async () => {
    await expect(run('bad', ['router=sometimes'])).rejects.toThrow(
      /unknown condition\(s\): router=sometimes/,
    );
    await expect(readFile(join(dir, 'bad', 'results.jsonl'))).rejects.toThrow();
  });
});
