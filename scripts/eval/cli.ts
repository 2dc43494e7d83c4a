/** The `genir eval` command (registered by scripts/cli.ts). */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { jsonProgress, progressBar } from '../../adapters/progress/index.ts';
import { loadConfig } from '../../bots/config.ts';
import { hitsTable } from './report.ts';
import { CONDITION_NAMES, type ConditionName, runEval } from './run.ts';
import type { VlmOptions } from './vlm-user.ts';
import { type OpenedWorld, openGalleryWorld, openSceneWorld } from './worlds.ts';

export interface EvalCliOptions {
  world?: 'scenes' | 'gallery';
  gallery: string;
  targets: string;
  rounds: number;
  seed: number;
  gallerySeed: number;
  out: string;
  dataDir?: string;
  conditions: string;
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

function parseConditions(text: string): ConditionName[] {
  const names =
    text === 'all'
      ? CONDITION_NAMES
      : text
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean);
  const bad = names.filter((n) => !(CONDITION_NAMES as string[]).includes(n));
  if (bad.length > 0)
    throw new Error(`unknown condition(s): ${bad.join(', ')}; known: ${CONDITION_NAMES.join(', ')}`);
  return names as ConditionName[];
}

function vlmOptions(opts: EvalCliOptions): VlmOptions {
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

/** Runs `genir eval` with parsed options; returns the process exit code. */
export async function evalCommand(opts: EvalCliOptions): Promise<number> {
  const config = loadConfig();
  const world = opts.world ?? (/^\d+$/.test(opts.gallery) ? 'scenes' : 'gallery');
  const conditions = parseConditions(opts.conditions);
  const progress = (label: string) => (opts.json ? jsonProgress(label) : progressBar(label));
  const log = (line: string) => console.error(line);
  let opened: OpenedWorld;
  if (world === 'scenes') {
    const size = whole('--gallery', 10)(opts.gallery);
    const targets = whole('--targets')(opts.targets);
    opened = await openSceneWorld({
      config,
      size,
      gallerySeed: opts.gallerySeed,
      targets,
      seed: opts.seed,
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      ...(opts.user === 'vlm' ? { vlm: vlmOptions(opts) } : {}),
      progress: progress(`gallery ${size}`),
      log,
    });
  } else {
    opened = await openGalleryWorld({
      config,
      gallery: opts.gallery,
      targetsFile: opts.targets,
      vlm: vlmOptions(opts),
    });
  }
  try {
    const summary = await runEval(opened, {
      out: opts.out,
      rounds: opts.rounds,
      seed: opts.seed,
      conditions,
      concurrency: opts.concurrency,
      transcripts: opts.transcripts,
      views: opts.views,
      fresh: opts.fresh ?? false,
      progress: progress('eval'),
      log,
    });
    const { results, files } = summary;
    if (opts.json) {
      console.log(JSON.stringify({ ...summary, results: undefined, resultsFile: files.json }));
    } else {
      console.log(
        `\n${opened.targets.length} targets × ${conditions.length} conditions on ${results.gallerySize.toLocaleString('en')} images ` +
          `(${summary.ran} dialogues run, ${summary.skipped} resumed; ${summary.seconds.toFixed(0)} s)\n`,
      );
      for (const line of hitsTable(results)) console.log(line);
      console.log(`\nWrote ${Object.values(files).join(', ')}`);
    }
    return 0;
  } finally {
    await opened.close();
  }
}

/** Adds `genir eval` to the command-line program. */
export function addEvalCommand(program: Command): Command {
  return program
    .command('eval')
    .description('measure retrieval with simulated users: Hits@K per round, Recall@K, BRI, against baselines')
    .addOption(
      new Option('--world <world>', 'scenes (offline world) or gallery (a real indexed gallery)').choices([
        'scenes',
        'gallery',
      ]),
    )
    .option(
      '--gallery <size|dir>',
      'scene world: gallery size (built once in data/eval-<size>); real data: a gallery indexed by genir index (its name or folder)',
      '2000',
    )
    .option(
      '--targets <n|file>',
      'scene world: number of targets; real data: a file of target asset ids',
      '100',
    )
    .option('--rounds <n>', 'refinement rounds after round 0', whole('--rounds', 0), 10)
    .option('--seed <n>', 'seed of the targets and the simulated users', whole('--seed', 0), 1)
    .option('--gallery-seed <n>', 'seed of the scene-world gallery', whole('--gallery-seed', 0), 1)
    .option('--out <dir>', 'output folder (resumes a run found there)', 'out/eval')
    .option('--data-dir <dir>', 'scene world: where the gallery is built (default data/eval-<size>)')
    .option('--conditions <list>', `comma-separated, or "all": ${CONDITION_NAMES.join(', ')}`, 'all')
    .option('--concurrency <n>', 'dialogues run at once', whole('--concurrency'), 2)
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
      new Option('--user <kind>', 'scene world: scene-aware users or a VLM')
        .choices(['scene', 'vlm'])
        .default('scene'),
    )
    .option('--fresh', 'delete earlier results in --out and start over')
    .option('--json', 'progress and summary as JSON lines')
    .option('--vlm-base-url <url>', 'OpenAI-compatible server of the VLM user (or VLM_BASE_URL)')
    .option('--vlm-model <name>', 'vision chat model (or VLM_MODEL), e.g. gemma3:4b')
    .option('--vlm-api-key <key>', 'API key if the server needs one (or VLM_API_KEY)')
    .option('--vlm-temperature <t>', 'sampling temperature', fraction('--vlm-temperature'), 0.7)
    .option('--vlm-top-p <p>', 'nucleus sampling', fraction('--vlm-top-p'), 0.9)
    .addOption(
      new Option('--vlm-message <what>', 'what the VLM user sends each round')
        .choices(['difference', 'caption'])
        .default('difference'),
    )
    .action(async (opts: EvalCliOptions) => {
      process.exitCode = await evalCommand(opts);
    });
}
