/**
 * `npm run eval:router-report -- <out> [round]`: the router table and Pareto plot of a finished
 * `genir eval` with router conditions, over every seed folder in <out>: Hits@10 at the round
 * (cumulative, 95 % bootstrap CI over dialogues), generator calls per dialogue (CI), the share of
 * router decisions that drew, and the paired differences to `visual` (always draws) and to the
 * random routers. Writes router.md, router.json and pareto.png into <out>.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootstrapMean, bootstrapPairedDifference, type Interval, significant } from './bootstrap.ts';
import { DRAW_AGAIN } from './pixel-user.ts';
import { renderScatterPlot } from './plot.ts';
import type { DialogueRecord } from './report.ts';
import { readFinished } from './run.ts';

export interface RouterRow {
  condition: string;
  dialogues: number;
  hits: Interval;
  calls: Interval;
  /** Generator calls as a share of `visual`'s. */
  callShare: number | null;
  /** Share of the router's decisions after round 0 that drew (rounds the person asked to redraw are not decided). */
  drawShare: number | null;
  /** Per dialogue: rounds the router decided after round 0, and drawings the user asked for (/regen). */
  decisions: number;
  requested: number;
  vsVisual: Interval | null;
  vsRandom: { condition: string; diff: Interval } | null;
}

const hitAt = (r: DialogueRecord, round: number, k = 10) =>
  Math.min(...r.raw.slice(0, round + 1)) < k ? 100 : 0;

async function seedDirs(out: string): Promise<string[]> {
  const seeds = (await readdir(out)).filter((d) => /^seed-\d+$/.test(d)).map((d) => join(out, d));
  return seeds.length > 0 ? seeds : [out];
}

export async function routerTable(out: string, round: number): Promise<RouterRow[]> {
  const byCondition = new Map<string, Map<string, DialogueRecord>>();
  for (const dir of await seedDirs(out)) {
    for (const [key, r] of await readFinished(join(dir, 'results.jsonl'))) {
      const unit = `${dir}|${key.slice(key.indexOf('|') + 1)}`;
      if (!byCondition.has(r.condition)) byCondition.set(r.condition, new Map());
      byCondition.get(r.condition)?.set(unit, r);
    }
  }
  const paired = (a: Map<string, DialogueRecord>, b: Map<string, DialogueRecord>) => {
    const units = [...a.keys()].filter((u) => b.has(u));
    return bootstrapPairedDifference(
      units.map((u) => hitAt(a.get(u) as DialogueRecord, round)),
      units.map((u) => hitAt(b.get(u) as DialogueRecord, round)),
    );
  };
  const visual = byCondition.get('visual');
  const meanCalls = (m: Map<string, DialogueRecord>) =>
    [...m.values()].reduce((s, r) => s + (r.generatorCalls ?? 0), 0) / m.size;
  const randoms = [...byCondition.keys()].filter((c) => c.startsWith('router=random@'));
  const rateOf = (c: string) => Number(c.slice('router=random@'.length));
  const rows: RouterRow[] = [];
  for (const [condition, records] of byCondition) {
    const all = [...records.values()];
    // Round 0 must draw (nothing to search with yet): the router's choices start at round 1.
    const decisions = all.flatMap((r) =>
      r.turns.flatMap((t) => (t.route && t.round > 0 ? [t.route.decision] : [])),
    );
    const drawShare = decisions.length
      ? decisions.filter((d) => d === 'draw').length / decisions.length
      : null;
    // Compared with the random router whose rate is nearest its own.
    const random =
      condition.startsWith('router=random@') || drawShare === null
        ? undefined
        : randoms.sort((a, b) => Math.abs(rateOf(a) - drawShare) - Math.abs(rateOf(b) - drawShare))[0];
    rows.push({
      condition,
      dialogues: all.length,
      hits: bootstrapMean(all.map((r) => hitAt(r, round))),
      calls: bootstrapMean(all.map((r) => r.generatorCalls ?? 0)),
      callShare: visual ? meanCalls(records) / meanCalls(visual) : null,
      drawShare,
      decisions: decisions.length / all.length,
      requested:
        all.reduce((s, r) => s + r.turns.filter((t) => t.drawn && t.message === DRAW_AGAIN).length, 0) /
        all.length,
      vsVisual: visual && condition !== 'visual' ? paired(records, visual) : null,
      vsRandom:
        random && condition.startsWith('router=')
          ? {
              condition: random,
              diff: paired(records, byCondition.get(random) as Map<string, DialogueRecord>),
            }
          : null,
    });
  }
  return rows;
}

const ci = (i: Interval, digits = 1) =>
  `${i.estimate.toFixed(digits)} [${i.low.toFixed(digits)}, ${i.high.toFixed(digits)}]`;
const diff = (i: Interval) => {
  const s = `${i.estimate >= 0 ? '+' : ''}${ci(i)}`;
  return significant(i) ? `**${s}**` : s;
};

export function routerMarkdown(rows: RouterRow[], round: number): string {
  const lines = [
    `| condition | dialogues | Hits@10 at r${round} | generator calls / dialogue | share of visual's calls | of which redraws asked (/regen) | routed rounds after r0 / dialogue, drawn | − visual (r${round}) | − random at its rate (r${round}) |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| \`${r.condition}\` | ${r.dialogues} | ${ci(r.hits)} | ${ci(r.calls, 2)} | ${r.callShare === null ? '—' : `${(100 * r.callShare).toFixed(0)} %`} | ${r.requested.toFixed(2)} | ${r.drawShare === null ? '—' : `${r.decisions.toFixed(2)}, ${(100 * r.drawShare).toFixed(1)} %`} | ${r.vsVisual ? diff(r.vsVisual) : '—'} | ${r.vsRandom ? `${diff(r.vsRandom.diff)} (vs \`${r.vsRandom.condition}\`)` : '—'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const [out, roundText] = process.argv.slice(2);
  if (!out) throw new Error('usage: router-report <eval out folder> [round, default 5]');
  const round = Number(roundText ?? 5);
  const rows = await routerTable(out, round);
  const visual = rows.find((r) => r.condition === 'visual');
  const md = routerMarkdown(rows, round);
  await writeFile(join(out, 'router.md'), md);
  await writeFile(join(out, 'router.json'), `${JSON.stringify(rows, null, 2)}\n`);
  const png = await renderScatterPlot({
    title: `Hits@10 at round ${round} against drawings per dialogue`,
    subtitle: `${out}: 95 % bootstrap CIs over dialogues (${rows[0]?.dialogues ?? 0} per condition)`,
    xLabel: 'generator calls per dialogue',
    yLabel: `Hits@10 at round ${round} (%)`,
    points: rows.map((r) => ({
      label: r.condition,
      x: r.calls.estimate,
      xLow: r.calls.low,
      xHigh: r.calls.high,
      y: r.hits.estimate,
      yLow: r.hits.low,
      yHigh: r.hits.high,
    })),
    xMin: 0,
    yMin: Math.max(0, Math.floor(Math.min(...rows.map((r) => r.hits.low)) / 5) * 5 - 5),
    yMax: Math.min(100, Math.ceil(Math.max(...rows.map((r) => r.hits.high)) / 5) * 5 + 5),
    ...(visual ? { xMarker: { x: 0.4 * visual.calls.estimate, label: "goal: 40 % of visual's calls" } } : {}),
  });
  await writeFile(join(out, 'pareto.png'), png);
  process.stdout.write(md);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
