/** `genir dataset import` and `genir dataset build`, as scripts/dataset/command.ts runs them. */
import { join, resolve } from 'node:path';
import { jsonProgress, progressBar } from '../../adapters/progress/index.ts';
import { GALLERIES_DIR, galleryPaths, validateGalleryName } from '../../adapters/store/indexed-gallery.ts';
import { loadConfig } from '../../bots/config.ts';
import { BudgetExceededError } from '../eval/call-cache.ts';
import { EXIT_COST_LIMIT, vlmOptions } from '../eval/cli.ts';
import { costLines, costPlan } from '../eval/costs.ts';
import { openGalleryWorld } from '../eval/worlds.ts';
import { runIndexCommand } from '../index-gallery/index.ts';
import { buildDataset } from './build.ts';
import type { BuildCliOptions, ImportOptions } from './command.ts';
import { recordDatasetIds, writeImageList } from './import.ts';
import { type DatasetKind, loadDataset } from './loaders.ts';

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
