/**
 * Statistics over several seeds of one eval: Hits@10 per round with a 95 % bootstrap CI, and the
 * paired difference of every condition against `visual` per round, marked when significant.
 * The unit is a dialogue (seed × target); conditions are paired on it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootstrapMean, bootstrapPairedDifference, type Interval, significant } from './bootstrap.ts';
import { bestSoFar } from './metrics.ts';
import { renderLinePlot } from './plot.ts';
import type { DialogueRecord } from './report.ts';

export interface SeedRecords {
  seed: number;
  records: DialogueRecord[];
}

export interface ConditionStats {
  hits: Interval[];
  /** Against the reference condition, per round (absent for the reference itself). */
  versus?: (Interval & { significant: boolean })[];
}

export interface EvalStats {
  k: number;
  seeds: number[];
  units: number;
  rounds: number;
  reference: string;
  conditions: Record<string, ConditionStats>;
}

/** Hit indicator per round of one dialogue: 1 once the target has ranked < k. */
function hitsOf(record: DialogueRecord, k: number): number[] {
  return bestSoFar(record.raw).map((b) => (b < k ? 1 : 0));
}

export function evalStats(runs: SeedRecords[], options: { k?: number; reference?: string } = {}): EvalStats {
  const k = options.k ?? 10;
  const byCondition = new Map<string, Map<string, DialogueRecord>>();
  for (const { seed, records } of runs) {
    for (const r of records) {
      const map = byCondition.get(r.condition) ?? new Map<string, DialogueRecord>();
      map.set(`${seed}|${r.target}`, r);
      byCondition.set(r.condition, map);
    }
  }
  const names = [...byCondition.keys()];
  const reference = options.reference ?? (names.includes('visual') ? 'visual' : (names[0] as string));
  const units = [...(byCondition.get(reference)?.keys() ?? [])].sort();
  const series = (name: string) =>
    units.map((u) => {
      const r = byCondition.get(name)?.get(u);
      if (!r) throw new Error(`condition ${name} has no dialogue for ${u}`);
      return hitsOf(r, k);
    });
  const rounds = (series(reference)[0]?.length ?? 1) - 1;
  const ref = series(reference);
  const conditions: Record<string, ConditionStats> = {};
  for (const name of names) {
    const own = series(name);
    const at = (rows: number[][], t: number) => rows.map((row) => row[t] as number);
    const hits = Array.from({ length: rounds + 1 }, (_, t) => bootstrapMean(at(own, t), { seed: t + 1 }));
    const stats: ConditionStats = { hits };
    if (name !== reference) {
      stats.versus = Array.from({ length: rounds + 1 }, (_, t) => {
        const d = bootstrapPairedDifference(at(own, t), at(ref, t), { seed: 1000 + t });
        return { ...d, significant: significant(d) };
      });
    }
    conditions[name] = stats;
  }
  return { k, seeds: runs.map((r) => r.seed), units: units.length, rounds, reference, conditions };
}

const pct = (x: number) => (x * 100).toFixed(1);

export function statsMarkdown(stats: EvalStats): string {
  const rounds = Array.from({ length: stats.rounds + 1 }, (_, t) => t);
  const lines = [
    `# Hits@${stats.k} with 95 % bootstrap CIs`,
    '',
    `Seeds ${stats.seeds.join(', ')}; ${stats.units} dialogues per condition (seed × target), raw rank over the whole gallery.`,
    '',
    `| condition | ${rounds.map((t) => `r${t}`).join(' | ')} |`,
    `|---|${rounds.map(() => '--:').join('|')}|`,
    ...Object.entries(stats.conditions).map(
      ([name, c]) =>
        `| ${name} | ${c.hits.map((h) => `${pct(h.estimate)} [${pct(h.low)}, ${pct(h.high)}]`).join(' | ')} |`,
    ),
    '',
    `Difference to \`${stats.reference}\` in points (paired bootstrap, 95 % CI); **bold** = significant (CI excludes 0):`,
    '',
    `| condition − ${stats.reference} | ${rounds.map((t) => `r${t}`).join(' | ')} |`,
    `|---|${rounds.map(() => '--:').join('|')}|`,
    ...Object.entries(stats.conditions)
      .filter(([, c]) => c.versus)
      .map(
        ([name, c]) =>
          `| ${name} | ${(c.versus ?? [])
            .map((d) => {
              const cell = `${d.estimate >= 0 ? '+' : ''}${pct(d.estimate)} [${pct(d.low)}, ${pct(d.high)}]`;
              return d.significant ? `**${cell}**` : cell;
            })
            .join(' | ')} |`,
      ),
    '',
  ];
  return lines.join('\n');
}

/** Mean Hits@K per round over all seeds, one line per condition. */
export function statsPlot(stats: EvalStats, subtitle: string): Promise<Buffer> {
  return renderLinePlot({
    title: `Hits@${stats.k} per round (seeds ${stats.seeds.join(', ')})`,
    subtitle,
    xLabel: 'round (0 = full first description)',
    yLabel: `Hits@${stats.k} (%)`,
    yMin: 0,
    yMax: 100,
    series: Object.entries(stats.conditions).map(([label, c]) => ({
      label,
      values: c.hits.map((h) => h.estimate * 100),
    })),
  });
}

export async function writeStats(
  out: string,
  stats: EvalStats,
  subtitle = '',
): Promise<Record<string, string>> {
  const files = {
    statsJson: join(out, 'stats.json'),
    statsMd: join(out, 'stats.md'),
    statsPlot: join(out, 'stats.png'),
  };
  await writeFile(files.statsJson, `${JSON.stringify(stats, null, 2)}\n`);
  await writeFile(files.statsMd, statsMarkdown(stats));
  await writeFile(files.statsPlot, await statsPlot(stats, subtitle));
  return files;
}
