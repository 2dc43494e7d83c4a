/** `genir dataset …` (registered by scripts/cli.ts): import a dataset, build a GenIR dataset. */
import { join, resolve } from 'node:path';
import { Argument, type Command, InvalidArgumentError } from 'commander';
import { jsonProgress, progressBar } from '../../adapters/progress/index.ts';
import { GALLERIES_DIR, galleryPaths, validateGalleryName } from '../../adapters/store/indexed-gallery.ts';
import { loadConfig } from '../../bots/config.ts';
import { BudgetExceededError } from '../eval/call-cache.ts';
import { addVlmOptions, dollars, EXIT_COST_LIMIT, vlmOptions } from '../eval/cli.ts';
import { costLines, costPlan } from '../eval/costs.ts';
import { openGalleryWorld } from '../eval/worlds.ts';
import { runIndexCommand } from '../index-gallery/index.ts';
import { buildDataset } from './build.ts';
import { recordDatasetIds, writeImageList } from './import.ts';
import { DATASET_KINDS, type DatasetKind, loadDataset } from './loaders.ts';

interface ImportOptions {
  images: string;
  annotations: string;
  name: string;
  split?: string;
  batch?: number;
  json?: boolean;
}

/** Runs `genir dataset import`; returns the exit code. */
export async function datasetImportCommand(kind: DatasetKind, opts: ImportOptions): Promise<number> {
  const name = validateGalleryName(opts.name);
  const entries = await loadDataset(kind, {
    images: opts.images,
    annotations: opts.annotations,
    ...(opts.split ? { split: opts.split } : {}),
  });
  const config = loadConfig();
  const dir = resolve(config.DATA_DIR, GALLERIES_DIR, name);
  const list = await writeImageList(dir, entries);
  console.error(
    `${kind}: ${entries.length} images listed in ${opts.annotations}; indexing into gallery ${name}`,
  );
  const code = await runIndexCommand([list], {
    name,
    ...(opts.batch ? { batch: opts.batch } : {}),
    ...(opts.json ? { json: true } : {}),
  });
  if (code !== 0) return code;
  const recorded = recordDatasetIds(galleryPaths(dir).db, entries, {
    kind,
    annotations: resolve(opts.annotations),
    images: resolve(opts.images),
    split: opts.split ?? null,
  });
  const line = `Dataset ids recorded: ${recorded.mapped} of ${entries.length} images can be named by their ${kind} id.`;
  if (opts.json)
    console.log(JSON.stringify({ dataset: { kind, mapped: recorded.mapped, unmapped: recorded.unmapped } }));
  else {
    console.log(line);
    if (recorded.unmapped.length > 0)
      console.log(
        `  not indexed (${recorded.unmapped.length}), e.g. ${recorded.unmapped.slice(0, 5).join(', ')}: see the skipped files above`,
      );
  }
  return recorded.unmapped.length === entries.length ? 1 : 0;
}

const whole = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  return n;
};

export function registerDatasetCommand(program: Command): Command {
  const dataset = program
    .command('dataset')
    .description(
      'research datasets: import COCO / Flickr30k / ChatIR / a folder; build a GenIR dialogue dataset',
    );
  dataset
    .command('import')
    .description(
      "index a dataset's images with the configured encoder and keep its own image ids and captions",
    )
    .addArgument(
      new Argument(
        '<kind>',
        'coco (captions JSON or Karpathy JSON), flickr30k (results.csv or Karpathy JSON), chatir (corpus list JSON), folder (CSV file,caption)',
      ).choices(DATASET_KINDS),
    )
    .requiredOption('--images <dir>', 'folder the annotation file names are relative to')
    .requiredOption('--annotations <file>', "the dataset's annotation file")
    .requiredOption('--name <gallery>', 'gallery name (search it with GALLERY=<name>)')
    .option('--split <name>', 'Karpathy JSON: only this split (e.g. test)')
    .option('--batch <n>', 'images per encoder call', whole('--batch'))
    .option('--json', 'progress and summary as JSON lines')
    .action(async (kind: DatasetKind, opts: ImportOptions) => {
      process.exitCode = await datasetImportCommand(kind, opts);
    });
  addVlmOptions(
    dataset
      .command('build')
      .description(
        "GenIR's annotation pipeline: VLM initial query from each target, then rounds of generate → retrieve → label → VLM refinement, written in the GenIR format with a dataset card",
      )
      .requiredOption('--from <gallery>', 'a gallery made by genir dataset import (or genir index)')
      .requiredOption('--targets <n|file>', 'a number of targets to sample, or a file of dataset ids')
      .requiredOption('--out <dir>', 'output folder (an interrupted build resumes there)')
      .option('--rounds <n>', 'refinement rounds after round 0', whole('--rounds'), 10)
      .option('--seed <n>', 'seed of the target sample', whole('--seed'), 1)
      .option('--licence <text>', 'licence of the dataset, recorded in its card', DEFAULT_LICENCE)
      .option(
        '--max-cost <usd>',
        'stop before the paid calls pass this many US dollars; run again to resume',
        dollars,
      )
      .option('--concurrency <n>', 'dialogues run at once', whole('--concurrency'), 2)
      .option('--fresh', 'start the dialogues over (the paid-call cache in <out>/run/cache is kept)')
      .option('--json', 'progress as JSON lines'),
  ).action(async (opts: BuildCliOptions) => {
    process.exitCode = await datasetBuildCommand(opts);
  });
  return dataset;
}

const DEFAULT_LICENCE =
  "the source dataset's image licences apply to the targets; the synthetic images follow the generator's terms";

type VlmCliOptions = Parameters<typeof vlmOptions>[0];

interface BuildCliOptions extends VlmCliOptions {
  from: string;
  targets: string;
  out: string;
  rounds: number;
  seed: number;
  licence: string;
  maxCost?: number;
  concurrency: number;
  fresh?: boolean;
  json?: boolean;
}

/** Runs `genir dataset build`; returns the exit code. */
export async function datasetBuildCommand(opts: BuildCliOptions): Promise<number> {
  const world = await openGalleryWorld({
    config: loadConfig(),
    gallery: opts.from,
    targets: opts.targets,
    seed: opts.seed,
    vlm: vlmOptions(opts),
    paid: {
      cacheDir: join(opts.out, 'run', 'cache'),
      ...(opts.maxCost !== undefined ? { maxCostUsd: opts.maxCost } : {}),
    },
  });
  const log = (line: string) => console.error(line);
  try {
    const plan = costPlan({
      targets: world.targets.length,
      roundsPerCondition: [opts.rounds],
      generatorId: world.generator.id,
      vlmModel: world.vlm.options.model,
      prices: world.prices,
    });
    for (const line of costLines(plan, world.generator.id, world.vlm.options.model, opts.maxCost)) log(line);
    const { card, dir } = await buildDataset(world, {
      out: opts.out,
      name: `${opts.from}-genir-${opts.rounds}r-seed${opts.seed}`,
      rounds: opts.rounds,
      seed: opts.seed,
      licence: opts.licence,
      concurrency: opts.concurrency,
      ...(opts.fresh ? { fresh: true } : {}),
      progress: opts.json ? jsonProgress('dataset build') : progressBar('dataset build'),
      log,
    });
    console.log(
      `Built ${card.counts.dialogues} dialogues (${card.counts.rounds} rounds; target found in ${card.counts.found}) in ${dir}; card: ${join(opts.out, 'card.json')}; cost $${card.costs.usd.toFixed(4)}.`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof BudgetExceededError)) throw err;
    console.error(`genir dataset build: ${err.message}`);
    return EXIT_COST_LIMIT;
  } finally {
    await world.close();
  }
}
