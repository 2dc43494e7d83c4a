/**
 * `npm run eval:train-router -- <eval out> [model.json]`: fits the learned router (logistic
 * regression) on the probed decisions of a `genir eval --router-probe` run and writes its weights.
 *
 * Each decision of the run is one example: its features (core/router.ts ROUTER_FEATURES), label 1
 * when drawing would have ranked the target better than searching with the last vector, weighted
 * by how much (|log(1 + rank_text) − log(1 + rank_draw)|; ties weigh nothing). The decision
 * threshold is the probability above which a `drawShare` of the training decisions would draw
 * (a cost choice made before any reported run, not tuned on reported numbers).
 *
 * Data recipe of models/router-v1.json (docs/eval.md, "Routing"): gallery seed 2 (2,000 flat
 * images, disjoint from the reported gallery seed 1), seeds 101 and 102, 60 targets each, 5
 * rounds, `--conditions router=random@0.5 --router-probe`.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROUTER_FEATURES, type RouterModel } from '../../core/router.ts';
import type { DialogueRecord } from './report.ts';
import { readFinished } from './run.ts';

export interface Example {
  x: number[];
  y: 0 | 1;
  w: number;
}

export function examplesOf(records: Iterable<DialogueRecord>): Example[] {
  const out: Example[] = [];
  for (const r of records) {
    for (const t of r.turns) {
      const p = t.route?.probe;
      if (!p || !t.route) continue;
      const w = Math.abs(Math.log1p(p.text) - Math.log1p(p.draw));
      if (w > 0) out.push({ x: t.route.features, y: p.draw < p.text ? 1 : 0, w });
    }
  }
  return out;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const score = (weights: readonly number[], x: readonly number[]) =>
  sigmoid(x.reduce((s, v, i) => s + v * (weights[i] as number), 0));

/** Weighted logistic regression by full-batch gradient descent with a small L2 penalty (not on the bias). */
export function fitLogistic(examples: Example[], options = { steps: 4000, rate: 0.05, l2: 0.01 }): number[] {
  const dim = ROUTER_FEATURES.length;
  const weights = new Array<number>(dim).fill(0);
  const total = examples.reduce((s, e) => s + e.w, 0) || 1;
  for (let step = 0; step < options.steps; step++) {
    const grad = new Array<number>(dim).fill(0);
    for (const e of examples) {
      const g = (score(weights, e.x) - e.y) * e.w;
      for (let i = 0; i < dim; i++) grad[i] = (grad[i] as number) + g * (e.x[i] as number);
    }
    for (let i = 0; i < dim; i++) {
      const penalty = i === 0 ? 0 : options.l2 * (weights[i] as number);
      weights[i] = (weights[i] as number) - options.rate * ((grad[i] as number) / total + penalty);
    }
  }
  return weights;
}

/** The probability above which `share` of the examples would draw. */
export function thresholdFor(weights: readonly number[], examples: Example[], share: number): number {
  const p = examples.map((e) => score(weights, e.x)).sort((a, b) => b - a);
  if (p.length === 0) return 0.5;
  return p[Math.min(p.length - 1, Math.max(0, Math.round(share * p.length) - 1))] as number;
}

async function main(): Promise<void> {
  const [out, modelPath = 'models/router-v1.json', shareText = '0.3'] = process.argv.slice(2);
  if (!out) throw new Error('usage: train-router <eval out folder> [model.json] [draw share]');
  const dirs = (await readdir(out)).filter((d) => /^seed-\d+$/.test(d)).map((d) => join(out, d));
  const records: DialogueRecord[] = [];
  for (const dir of dirs.length ? dirs : [out])
    records.push(...(await readFinished(join(dir, 'results.jsonl'))).values());
  const examples = examplesOf(records);
  if (examples.length < 20)
    throw new Error(`only ${examples.length} probed decisions in ${out}: run with --router-probe`);
  const weights = fitLogistic(examples);
  const share = Number(shareText);
  const model: RouterModel = {
    kind: 'logistic',
    features: [...ROUTER_FEATURES],
    weights: weights.map((w) => Math.round(w * 1e5) / 1e5),
    threshold: Math.round(thresholdFor(weights, examples, share) * 1e5) / 1e5,
    trainedOn: {
      run: out,
      dialogues: records.length,
      examples: examples.length,
      positives: examples.filter((e) => e.y === 1).length,
      drawShare: share,
      recipe:
        'genir eval --world scenes --gallery 2000 --gallery-seed 2 --data-dir data/eval-2000-flat-g2 --targets 60 --rounds 5 --seeds 101,102 --conditions router=random@0.5 --router-probe',
    },
  };
  await writeFile(modelPath, `${JSON.stringify(model, null, 2)}\n`);
  console.log(
    `${examples.length} examples (${model.trainedOn && (model.trainedOn as { positives: number }).positives} where drawing ranks the target better); wrote ${modelPath}`,
  );
  for (const [i, name] of ROUTER_FEATURES.entries()) console.log(`  ${name.padEnd(20)} ${model.weights[i]}`);
  console.log(`  threshold            ${model.threshold}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
