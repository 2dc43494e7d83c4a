/** Turns per-target dialogue records into results.json, results.csv, results.md and plot.png. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HIT_KS, type MetricSet, summarize } from './metrics.ts';
import { renderLinePlot } from './plot.ts';
import type { RouteLog } from './routers.ts';

/** One simulated dialogue of one target under one condition, as appended to results.jsonl. */
export interface DialogueRecord {
  condition: string;
  target: string;
  /** Pseudonymous id of the dialogue in the exported transcripts. */
  dialogueId: string;
  /** Round in which the target was shown (and picked), or null. */
  foundAt: number | null;
  /** Raw 0-based rank of the target over the whole gallery, per round 0..T (carried on after the pick). */
  raw: number[];
  /** Rank among the candidates not shown in earlier rounds (what seen-exclusion searches). */
  unshown: number[];
  turns: TurnRecord[];
  errors: string[];
  /** Generator calls of the dialogue's rounds (drawings, redraws; not an oracle's probes). */
  generatorCalls?: number;
}

export interface TurnRecord {
  round: number;
  message: string;
  query: string;
  interpretation: string | null;
  raw: number;
  unshown: number;
  shown: boolean;
  /** Whether the round drew a new picture. */
  drawn?: boolean;
  /** Router conditions: the decision, its features and (probing) both outcomes. */
  route?: RouteLog;
}

export interface ConditionResult {
  label: string;
  settings: Record<string, unknown>;
  targets: number;
  found: number;
  /** Dialogues with an error (ranks carried on from the last good round). */
  failed: number;
  /** Metrics over the raw rank in the whole gallery (the paper's protocol). */
  metrics: MetricSet;
  /** Metrics over the rank among images not shown in earlier rounds of the dialogue. */
  unshownMetrics: MetricSet;
}

export interface EvalResults {
  run: Record<string, unknown>;
  gallerySize: number;
  rounds: number;
  conditions: Record<string, ConditionResult>;
}

export function conditionResult(
  label: string,
  settings: { seenExclusion: boolean } & Record<string, unknown>,
  records: DialogueRecord[],
): ConditionResult {
  return {
    label,
    settings,
    targets: records.length,
    found: records.filter((r) => r.foundAt !== null).length,
    failed: records.filter((r) => r.errors.length > 0).length,
    metrics: summarize(records.map((r) => r.raw)),
    unshownMetrics: summarize(records.map((r) => r.unshown)),
  };
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : (x * 100).toFixed(1));
const num = (x: number | undefined, digits = 1) =>
  x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ];
}

/** Hits@10 per round, one row per condition (percent). */
export function hitsTable(
  results: EvalResults,
  k = 10,
  which: 'metrics' | 'unshownMetrics' = 'metrics',
): string[] {
  const rounds = Array.from({ length: results.rounds + 1 }, (_, t) => String(t));
  const rows = Object.entries(results.conditions).map(([name, c]) => [
    name,
    ...rounds.map((_, t) => pct(c[which].hits[String(k)]?.[t])),
  ]);
  return table([`Hits@${k} (%) by round`, ...rounds], rows);
}

/** Hits@1/5/10 at rounds 0, 3, 5 and the last, BRI and median rank, one row per condition. */
export function summaryTable(results: EvalResults): string[] {
  const T = results.rounds;
  const at = [...new Set([0, Math.min(3, T), Math.min(5, T), T])];
  const header = [
    'condition',
    ...at.flatMap((t) => HIT_KS.map((k) => `H@${k} r${t}`)),
    'R@10 last',
    'BRI',
    `median rank r0`,
    `median rank r${T}`,
    'found',
  ];
  const rows = Object.entries(results.conditions).map(([name, c]) => [
    name,
    ...at.flatMap((t) => HIT_KS.map((k) => pct(c.metrics.hits[String(k)]?.[t]))),
    pct(c.metrics.recall['10']?.[T]),
    num(c.metrics.bri, 3),
    num(c.metrics.medianRank[0]),
    num(c.metrics.medianRank[T]),
    `${c.found}/${c.targets}`,
  ]);
  return table(header, rows);
}

export function markdownReport(results: EvalResults): string {
  const run = results.run;
  const lines = [
    '# genir eval results',
    '',
    `World: ${String(run.world ?? '')} · gallery: ${results.gallerySize.toLocaleString('en')} images · ` +
      `targets: ${Object.values(results.conditions)[0]?.targets ?? 0} · rounds: 0–${results.rounds} · seed: ${String(run.seed ?? '')}` +
      (run.encoderId ? ` · encoder: ${String(run.encoderId)}` : ''),
    '',
    'Ranks are 0-based, raw over the whole gallery. Hits@K(t): share of targets ranked < K in some',
    'round ≤ t (cumulative). Every dialogue runs every round (a pick is recorded; the dialogue goes on).',
    '',
    ...hitsTable(results),
    '',
    ...summaryTable(results),
    '',
    'Rank among the images not shown in earlier rounds of the dialogue (seen-exclusion rank):',
    '',
    ...hitsTable(results, 10, 'unshownMetrics'),
    '',
    'Conditions:',
    '',
    ...Object.entries(results.conditions).map(([name, c]) => `- \`${name}\`: ${c.label}`),
    '',
  ];
  return lines.join('\n');
}

export function csvReport(results: EvalResults): string {
  const header = [
    'condition',
    'rank',
    'round',
    ...HIT_KS.map((k) => `hits@${k}`),
    ...HIT_KS.map((k) => `recall@${k}`),
    'mean_rank',
    'median_rank',
    'bri',
  ];
  const lines = [header.join(',')];
  for (const [name, c] of Object.entries(results.conditions)) {
    for (const [kind, m] of [
      ['raw', c.metrics],
      ['unshown', c.unshownMetrics],
    ] as const) {
      for (let t = 0; t <= results.rounds; t++) {
        lines.push(
          [
            name,
            kind,
            t,
            ...HIT_KS.map((k) => m.hits[String(k)]?.[t]?.toFixed(4) ?? ''),
            ...HIT_KS.map((k) => m.recall[String(k)]?.[t]?.toFixed(4) ?? ''),
            m.meanRank[t]?.toFixed(2) ?? '',
            m.medianRank[t]?.toFixed(1) ?? '',
            m.bri.toFixed(4),
          ].join(','),
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function hitsPlot(results: EvalResults, k = 10): Promise<Buffer> {
  const targets = Object.values(results.conditions)[0]?.targets ?? 0;
  return renderLinePlot({
    title: `Hits@${k} per round`,
    subtitle: `${String(results.run.world ?? '')} world · ${results.gallerySize.toLocaleString('en')} gallery images · ${targets} targets · cumulative, 0-based ranks`,
    xLabel: 'round (0 = first description)',
    yLabel: `Hits@${k} (%)`,
    yMin: 0,
    yMax: 100,
    series: Object.entries(results.conditions).map(([name, c]) => ({
      label: typeof c.settings.short === 'string' ? c.settings.short : name,
      values: (c.metrics.hits[String(k)] ?? []).map((v) => v * 100),
    })),
  });
}

/** Writes results.json, results.csv, results.md and plot.png into `out`; returns their paths. */
export async function writeReports(out: string, results: EvalResults): Promise<Record<string, string>> {
  const files = {
    json: join(out, 'results.json'),
    csv: join(out, 'results.csv'),
    md: join(out, 'results.md'),
    plot: join(out, 'plot.png'),
  };
  await writeFile(files.json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(files.csv, csvReport(results));
  await writeFile(files.md, markdownReport(results));
  await writeFile(files.plot, await hitsPlot(results));
  return files;
}
