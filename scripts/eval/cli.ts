/** The `genir eval` command (registered by scripts/cli.ts). */

import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { SketchErrors } from '../../adapters/generate/sketch/index.ts';
import type { Progress } from '../../adapters/progress/index.ts';
import type { RenderStyle } from '../../adapters/scene/index.ts';
import type { Config } from '../../bots/config.ts';
import { CONDITION_NAMES, type ConditionName } from './conditions.ts';
import type { PerceptionNoise } from './pixel-user.ts';
import type { SeedRecords } from './stats.ts';
import type { VlmOptions } from './vlm-user.ts';
import type { OpenedGalleryWorld, OpenedWorld } from './worlds.ts';

/** What `genir eval` uses when it runs, loaded then: `genir --help` lists it without loading them. */
const evalModules = () => import('./command-modules.ts');

export interface EvalCliOptions {
  world?: 'scenes' | 'ideal' | 'gallery';
  style: RenderStyle;
  crowd: number;
  noise: PerceptionNoise;
  errors: Partial<SketchErrors>;
  seeds?: number[];
  statsOnly?: boolean;
  routerModel?: string;
  routerProbe?: boolean;
  gallery: string;
  targets: string;
  rounds: number;
  seed: number;
  gallerySeed: number;
  out: string;
  dataDir?: string;
  conditions?: string;
  /** A gallery made by `genir dataset import` (or `genir index`): the paper's protocol on real data. */
  dataset?: string;
  maxCost?: number;
  concurrency: number;
  transcripts: 'genir' | 'jsonl' | 'off';
  views: 'headless' | 'full';
  user: 'scene' | 'vlm';
  fresh?: boolean;
  json?: boolean;
  vlmBaseUrl?: string;
  vlmModel?: string;
  vlmApiKey?: string;
  vlmTemperature: number;
  vlmTopP: number;
  vlmMessage: 'difference' | 'caption';
}

const whole =
  (name: string, min = 1) =>
  (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };

const fraction = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 2)
    throw new InvalidArgumentError(`${name} must be a number from 0 to 2`);
  return n;
};

/** "miss=0.05,colour=0.05" → { miss: 0.05, colour: 0.05 }, names checked against `known`. */
const rates =
  <K extends string>(name: string, known: readonly K[]) =>
  (text: string): Partial<Record<K, number>> => {
    const out: Partial<Record<K, number>> = {};
    for (const part of text.split(',').filter(Boolean)) {
      const [key, value] = part.split('=').map((x) => x.trim());
      const n = Number(value);
      if (!known.includes(key as K) || !Number.isFinite(n) || n < 0 || n > 1)
        throw new InvalidArgumentError(
          `${name}: expected ${known.map((k) => `${k}=<0..1>`).join(',')}, got "${part}"`,
        );
      out[key as K] = n;
    }
    return out;
  };

const seedList = (text: string): number[] => text.split(',').map((x) => whole('--seeds', 0)(x.trim()));

function parseConditions(text: string, conditionOf: (name: string) => unknown): ConditionName[] {
  const names =
    text === 'all'
      ? CONDITION_NAMES
      : text
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean);
  const bad = names.filter((n) => !conditionOf(n));
  if (bad.length > 0)
    throw new Error(
      `unknown condition(s): ${bad.join(', ')}; known: ${CONDITION_NAMES.join(', ')}, router=heuristic|learned|oracle|never|random@<rate>`,
    );
  return names;
}

export function vlmOptions(
  opts: Pick<
    EvalCliOptions,
    'vlmBaseUrl' | 'vlmModel' | 'vlmApiKey' | 'vlmTemperature' | 'vlmTopP' | 'vlmMessage'
  >,
): VlmOptions {
  const baseURL = opts.vlmBaseUrl ?? process.env.VLM_BASE_URL;
  const model = opts.vlmModel ?? process.env.VLM_MODEL;
  if (!baseURL || !model) {
    throw new Error(
      'the VLM user needs --vlm-base-url and --vlm-model (or VLM_BASE_URL / VLM_MODEL), e.g. --vlm-base-url http://127.0.0.1:11434/v1 --vlm-model gemma3:4b',
    );
  }
  const apiKey = opts.vlmApiKey ?? process.env.VLM_API_KEY;
  return {
    baseURL,
    model,
    temperature: opts.vlmTemperature,
    topP: opts.vlmTopP,
    message: opts.vlmMessage,
    ...(apiKey ? { apiKey } : {}),
  };
}

/** The paper's conditions on real data (a VLM user has no prediction variant). */
const DATASET_CONDITIONS = 'visual,verbal,round0';

/** Exit code of a run stopped by --max-cost (resumable). */
export const EXIT_COST_LIMIT = 3;

/** Runs `genir eval` with parsed options; returns the process exit code. */
export async function evalCommand(opts: EvalCliOptions): Promise<number> {
  const {
    BudgetExceededError,
    conditionOf,
    costLines,
    costPlan,
    evalStats,
    hitsTable,
    jsonProgress,
    loadConfig,
    progressBar,
    readFinished,
    runEval,
    statsMarkdown,
    writeStats,
  } = await evalModules();
  const config = loadConfig();
  if (opts.dataset) {
    if (opts.world && opts.world !== 'gallery')
      throw new Error('--dataset runs on a real gallery: drop --world');
    opts.gallery = opts.dataset;
    opts.user = 'vlm';
  }
  const world = opts.world ?? (opts.dataset || !/^\d+$/.test(opts.gallery) ? 'gallery' : 'scenes');
  const conditions = parseConditions(
    opts.conditions ?? (world === 'gallery' ? DATASET_CONDITIONS : 'all'),
    conditionOf,
  );
  if (world === 'gallery' && conditions.includes('prediction'))
    throw new Error(
      'the VLM user cannot judge matches: the prediction condition runs in the scene world only',
    );
  if (opts.maxCost !== undefined && world !== 'gallery')
    throw new Error('--max-cost limits the paid calls of a real-data run (--dataset)');
  const progress = (label: string) => (opts.json ? jsonProgress(label) : progressBar(label));
  const log = (line: string) => console.error(line);
  const seeds = opts.seeds ?? [opts.seed];
  const runs: SeedRecords[] = [];
  const outOf = (seed: number) => (seeds.length > 1 ? join(opts.out, `seed-${seed}`) : opts.out);
  for (const seed of opts.statsOnly ? [] : seeds) {
    const out = outOf(seed);
    const opened = await openWorld(world, opts, seed, config, progress, log, out);
    try {
      const cache = 'cache' in opened ? (opened as OpenedGalleryWorld).cache : null;
      if (world === 'gallery') {
        const g = opened as OpenedGalleryWorld;
        const plan = costPlan({
          targets: g.targets.length,
          roundsPerCondition: conditions.map((c) => (conditionOf(c)?.refine ? opts.rounds : 0)),
          generatorId: g.generator.id,
          vlmModel: g.vlm.options.model,
          prices: g.prices,
        });
        for (const line of costLines(plan, g.generator.id, g.vlm.options.model, opts.maxCost)) log(line);
        if (cache && cache.budget.spentUsd > 0)
          log(
            `  already spent by earlier attempts of this run (cached): $${cache.budget.spentUsd.toFixed(4)}`,
          );
      }
      const summary = await runEval(opened, {
        ...(cache ? { budget: cache.budget } : {}),
        out,
        rounds: opts.rounds,
        seed,
        conditions,
        concurrency: opts.concurrency,
        ...(opts.routerModel ? { routerModel: opts.routerModel } : {}),
        ...(opts.routerProbe ? { routerProbe: true } : {}),
        transcripts: opts.transcripts,
        views: opts.views,
        fresh: opts.fresh ?? false,
        progress: progress(seeds.length > 1 ? `eval seed ${seed}` : 'eval'),
        log,
      });
      runs.push({ seed, records: summary.records });
      const { results, files } = summary;
      if (opts.json) {
        console.log(
          JSON.stringify({ ...summary, results: undefined, records: undefined, resultsFile: files.json }),
        );
      } else {
        console.log(
          `\nseed ${seed}: ${opened.targets.length} targets × ${conditions.length} conditions on ${results.gallerySize.toLocaleString('en')} images ` +
            `(${summary.ran} dialogues run, ${summary.skipped} resumed; ${summary.seconds.toFixed(0)} s)\n`,
        );
        for (const line of hitsTable(results)) console.log(line);
        console.log(`\nWrote ${Object.values(files).join(', ')}`);
      }
      if (cache)
        log(
          `Paid calls: ${JSON.stringify(cache.misses)} made now, ${JSON.stringify(cache.hits)} from the cache; spent $${cache.budget.spentUsd.toFixed(4)} in all.`,
        );
    } catch (err) {
      if (!(err instanceof BudgetExceededError)) throw err;
      console.error(`genir eval: ${err.message}`);
      return EXIT_COST_LIMIT;
    } finally {
      await opened.close();
    }
  }
  if (opts.statsOnly) {
    for (const seed of seeds) {
      const found = await readFinished(join(outOf(seed), 'results.jsonl'));
      if (found.size === 0) throw new Error(`no finished dialogues in ${join(outOf(seed), 'results.jsonl')}`);
      runs.push({ seed, records: [...found.values()] });
    }
  }
  const stats = evalStats(runs);
  const subtitle =
    world === 'scenes'
      ? `perceiving users · ${opts.gallery} ${opts.style} images${opts.crowd ? ` (crowd ${opts.crowd})` : ''} · generator errors: ${JSON.stringify(opts.errors)}`
      : `${world} world · ${opts.gallery}`;
  const files = await writeStats(opts.out, stats, subtitle);
  if (!opts.json) console.log(`\n${statsMarkdown(stats)}\nWrote ${Object.values(files).join(', ')}`);
  return 0;
}

async function openWorld(
  world: 'scenes' | 'ideal' | 'gallery',
  opts: EvalCliOptions,
  seed: number,
  config: Config,
  progress: (label: string) => Progress,
  log: (line: string) => void,
  out: string,
): Promise<OpenedWorld> {
  const { openGalleryWorld, openPixelWorld, openSceneWorld } = await evalModules();
  if (world === 'gallery') {
    return openGalleryWorld({
      config,
      gallery: opts.gallery,
      targets: opts.targets,
      seed,
      vlm: vlmOptions(opts),
      paid: {
        cacheDir: join(out, 'cache'),
        ...(opts.maxCost !== undefined ? { maxCostUsd: opts.maxCost } : {}),
      },
    });
  }
  const size = whole('--gallery', 10)(opts.gallery);
  const targets = whole('--targets')(opts.targets);
  if (world === 'ideal') {
    return openSceneWorld({
      config,
      size,
      gallerySeed: opts.gallerySeed,
      targets,
      seed,
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      ...(opts.user === 'vlm' ? { vlm: vlmOptions(opts) } : {}),
      progress: progress(`gallery ${size}`),
      log,
    });
  }
  if (opts.user === 'vlm') throw new Error('--user vlm runs on --world ideal or --world gallery');
  return openPixelWorld({
    config,
    size,
    gallerySeed: opts.gallerySeed,
    style: opts.style,
    crowd: opts.crowd,
    targets,
    seed,
    noise: opts.noise,
    errors: opts.errors,
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    progress: progress(`gallery ${size} (${opts.style})`),
  });
}

/** The VLM user's options, shared by `genir eval` and `genir dataset build`. */
export function addVlmOptions(command: Command): Command {
  return command
    .option('--vlm-base-url <url>', 'OpenAI-compatible server of the VLM user (or VLM_BASE_URL)')
    .option('--vlm-model <name>', 'vision chat model (or VLM_MODEL), e.g. gemma3:4b')
    .option('--vlm-api-key <key>', 'API key if the server needs one (or VLM_API_KEY)')
    .option('--vlm-temperature <t>', 'sampling temperature', fraction('--vlm-temperature'), 0.7)
    .option('--vlm-top-p <p>', 'nucleus sampling', fraction('--vlm-top-p'), 0.9)
    .addOption(
      new Option('--vlm-message <what>', 'what the VLM user sends each round')
        .choices(['difference', 'caption'])
        .default('difference'),
    );
}

/** Parses --max-cost. */
export const dollars = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('--max-cost must be a number of dollars ≥ 0');
  return n;
};

/** Adds `genir eval` to the command-line program. */
export function addEvalCommand(program: Command): Command {
  return addVlmOptions(
    program
      .command('eval')
      .description(
        'measure retrieval with simulated users: Hits@K per round, Recall@K, BRI, against baselines',
      )
      .addOption(
        new Option(
          '--world <world>',
          'scenes (offline world, users perceive pixels), ideal (the old closed loop: users read captions), gallery (a real indexed gallery)',
        ).choices(['scenes', 'ideal', 'gallery']),
      )
      .addOption(
        new Option(
          '--style <style>',
          'scenes: the gallery as flat sketches or as photos (drawings stay flat)',
        )
          .choices(['flat', 'photo'])
          .default('flat'),
      )
      .option('--crowd <n>', 'scenes: near-duplicates per gallery scene', whole('--crowd', 0), 0)
      .option(
        '--noise <rates>',
        'scenes: perception noise, miss=,colour=,position= (0..1 each)',
        (t: string) => ({
          miss: 0,
          colour: 0,
          position: 0,
          ...rates('--noise', ['miss', 'colour', 'position'])(t),
        }),
        { miss: 0.05, colour: 0.05, position: 0.05 },
      )
      .option(
        '--errors <rates>',
        'scenes: generator failure modes, hallucination=,randomFill=,binding=,stagnation= (0..1 each; default none)',
        rates('--errors', ['hallucination', 'randomFill', 'binding', 'stagnation']),
        {},
      )
      .option(
        '--seeds <list>',
        'several seeds (e.g. 1,2,3): one run each in <out>/seed-<n>, then bootstrap CIs',
        seedList,
      )
      .option('--stats-only', 'recompute stats.md/json/png from the finished dialogues in --out; run nothing')
      .option(
        '--gallery <size|dir>',
        'scene worlds: gallery size (built once under data/); real data: a gallery indexed by genir index (its name or folder)',
        '2000',
      )
      .option(
        '--targets <n|file>',
        'scene world: number of targets; real data: a file of target ids (dataset ids or asset ids) or a number to sample',
        '100',
      )
      .option('--rounds <n>', 'refinement rounds after round 0', whole('--rounds', 0), 10)
      .option('--seed <n>', 'seed of the targets and the simulated users', whole('--seed', 0), 1)
      .option('--gallery-seed <n>', 'seed of the scene-world gallery', whole('--gallery-seed', 0), 1)
      .option('--out <dir>', 'output folder (resumes a run found there)', 'out/eval')
      .option(
        '--data-dir <dir>',
        'scene worlds: where the gallery is built (default data/eval-<size>[-<style>])',
      )
      .option(
        '--conditions <list>',
        `comma-separated, or "all": ${CONDITION_NAMES.join(', ')} (default: all; with --dataset ${DATASET_CONDITIONS})`,
      )
      .option(
        '--dataset <gallery>',
        "the paper's protocol on a gallery made by genir dataset import: VLM users, the configured bot; --targets is a file of dataset ids or a number",
      )
      .option(
        '--max-cost <usd>',
        'real data: stop before the paid calls (generator, refiner, VLM) pass this many US dollars; run again to resume',
        dollars,
      )
      .option('--concurrency <n>', 'dialogues run at once', whole('--concurrency'), 2)
      .option('--router-model <file>', 'router=learned: the weights (default models/router-v1.json)')
      .option(
        '--router-probe',
        'router conditions: log the target rank of both choices per decision (training data)',
      )
      .addOption(
        new Option('--transcripts <format>', 'transcript export')
          .choices(['genir', 'jsonl', 'off'])
          .default('genir'),
      )
      .addOption(
        new Option('--views <mode>', 'headless: skip drawing chat pictures nobody sees; full: render them')
          .choices(['headless', 'full'])
          .default('headless'),
      )
      .addOption(
        new Option('--user <kind>', 'ideal world: scene-aware users or a VLM')
          .choices(['scene', 'vlm'])
          .default('scene'),
      )
      .option(
        '--fresh',
        'delete earlier results in --out and start over (the paid-call cache in <out>/cache is kept)',
      )
      .option('--json', 'progress and summary as JSON lines'),
  ).action(async (opts: EvalCliOptions) => {
    process.exitCode = await evalCommand(opts);
  });
}
