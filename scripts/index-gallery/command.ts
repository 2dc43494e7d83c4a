/**
 * The `genir index` command (commander) and its `genir index merge` subcommand:
 * `registerIndexCommand(program)` adds them to the genir CLI; `scripts/index-gallery/main.ts` runs
 * them alone.
 */
import { basename } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { IndexKind } from '../../bots/vector-index.ts';
import { parseShard, type Shard } from './shard.ts';

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  return n;
};
const positiveNumber = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0`);
  return n;
};

export interface IndexCommandOptions {
  name?: string;
  gallery?: string;
  batch?: number;
  prune?: boolean;
  reindex?: boolean;
  refreshUrls?: boolean;
  index?: IndexKind;
  json?: boolean;
  maxDownloadMb?: number;
  downloadTimeout?: number;
  maxMegapixels?: number;
  concurrency?: number;
  shard?: Shard;
}

const shardOption = (value: string) => {
  try {
    return parseShard(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

export function registerIndexCommand(program: Command): Command {
  const index = program
    .command('index')
    .description('index a folder (or a list file of paths/URLs) of images as a searchable gallery')
    .argument('<sources...>', 'folders, list files (one path or http(s) URL per line), images or URLs')
    .option(
      '--gallery <name>',
      'gallery name (default: the gallery already indexed from the first source, else one named after it); search it with GALLERY=<name> or genir gallery bind',
    )
    .option('--name <name>', 'same as --gallery')
    .option('--batch <n>', 'images per encoder call (default: sized for the model)', positiveInt('--batch'))
    .option('--prune', 'remove images whose files are gone')
    .option('--reindex', 'drop every vector and index everything again (e.g. after changing the encoder)')
    .option('--refresh-urls', 'download URLs again even if already indexed')
    .option('--index <kind>', 'exact | usearch | pinecone (default: VECTOR_INDEX)')
    .option('--json', 'progress and summary as JSON lines on stdout')
    .option('--max-download-mb <n>', 'largest download accepted', positiveNumber('--max-download-mb'))
    .option('--download-timeout <s>', 'seconds per download', positiveNumber('--download-timeout'))
    .option(
      '--max-megapixels <n>',
      'larger images are refused (decompression bombs)',
      positiveNumber('--max-megapixels'),
    )
    .option('--concurrency <n>', 'files read and decoded at once (default 16)', positiveInt('--concurrency'))
    .option(
      '--shard <i/n>',
      "index only shard i of n (by a hash of each path or URL), e.g. on n machines; then 'genir index merge'",
      shardOption,
    )
    .action(async (sources: string[], opts: IndexCommandOptions) => {
      process.exitCode = await runIndexCommand(sources, opts);
    });
  index
    .command('merge')
    .description('combine the shards of a gallery indexed with --shard i/n into one searchable gallery')
    .argument('<gallery>', 'the --gallery name the shards were indexed with')
    .requiredOption('--shards <n>', 'how many shards (the n of --shard i/n)', positiveInt('--shards'))
    .action(async (gallery: string, opts: { shards: number }, command: Command) => {
      process.exitCode = await runMergeCommand(gallery, {
        shards: opts.shards,
        json: Boolean(command.optsWithGlobals().json),
      });
    });
  return index;
}

/** Runs `genir index`; returns the exit code (0 ok, 1 failed, 130 interrupted). */
export async function runIndexCommand(sources: string[], opts: IndexCommandOptions): Promise<number> {
  // Loaded when the command runs: `genir --help` lists this command without loading them.
  const {
    GALLERIES_DIR,
    findGalleryDir,
    validateGalleryName,
    loadConfig,
    loadEncoder,
    indexSettingsFromConfig,
    DEFAULT_DOWNLOAD_TIMEOUT_MS,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    formatSummary,
    indexGallery,
    indexingEncoderLayout,
    jsonProgress,
    progressBar,
    shardGalleryName,
  } = await import('./command-modules.ts');
  if (opts.index && !['exact', 'usearch', 'pinecone'].includes(opts.index)) {
    throw new Error(`--index must be exact, usearch or pinecone (got "${opts.index}")`);
  }
  // --index goes through the config rules like VECTOR_INDEX (e.g. pinecone needs its key).
  const config = loadConfig(process.env, opts.index ? { overrides: { VECTOR_INDEX: opts.index } } : {});
  const given = opts.gallery ?? opts.name;
  const name = given
    ? validateGalleryName(given)
    : basename(await findGalleryDir(config.DATA_DIR, sources[0] as string));
  const { shard } = opts;
  const dir = `${config.DATA_DIR}/${GALLERIES_DIR}/${shard ? shardGalleryName(name, shard.index, shard.count) : name}`;
  const encoder = await loadEncoder(config, await indexingEncoderLayout(config));
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    console.error(
      '\nStopping after the current batch (everything indexed so far is kept; Ctrl-C again to quit now)…',
    );
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    const summary = await indexGallery({
      sources,
      dir,
      name,
      encoder,
      index: indexSettingsFromConfig(config),
      ...(opts.batch ? { batch: opts.batch } : {}),
      prune: opts.prune ?? false,
      reindex: opts.reindex ?? false,
      refreshUrls: opts.refreshUrls ?? false,
      maxDownloadBytes: opts.maxDownloadMb ? opts.maxDownloadMb * 1024 * 1024 : DEFAULT_MAX_DOWNLOAD_BYTES,
      downloadTimeoutMs: opts.downloadTimeout ? opts.downloadTimeout * 1000 : DEFAULT_DOWNLOAD_TIMEOUT_MS,
      ...(opts.maxMegapixels ? { limitInputPixels: Math.round(opts.maxMegapixels * 1e6) } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(shard ? { shard } : {}),
      progress: opts.json ? jsonProgress('index') : progressBar('index'),
      signal: controller.signal,
    });
    if (opts.json) console.log(JSON.stringify({ summary }));
    else {
      for (const line of formatSummary(summary)) console.log(line);
      if (shard)
        console.log(
          `When all ${shard.count} shards are done, on the machine that serves the gallery: genir index merge ${name} --shards ${shard.count}`,
        );
      else if (config.GALLERY !== name)
        console.log(
          `Search it: GALLERY=${name} genir chat, or in a workspace: genir gallery bind ${name} --slack-team <T…> | --discord-guild <id>`,
        );
    }
    return 0;
  } catch (err) {
    if (controller.signal.aborted) {
      console.error('Interrupted: run the same command again to continue where it stopped.');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    await encoder.close();
  }
}

/** Runs `genir index merge`; returns the exit code. */
export async function runMergeCommand(
  gallery: string,
  opts: { shards: number; json?: boolean },
): Promise<number> {
  const { loadConfig, validateGalleryName, mergeShards, formatMergeSummary, indexSettingsFromConfig } =
    await import('./command-modules.ts');
  const config = loadConfig(process.env);
  const summary = await mergeShards({
    dataDir: config.DATA_DIR,
    name: validateGalleryName(gallery),
    shards: opts.shards,
    // The shards' kind decides; its settings (and Pinecone's key) come from the environment.
    settings: (kind) =>
      indexSettingsFromConfig(loadConfig(process.env, { overrides: { VECTOR_INDEX: kind } })),
  });
  if (opts.json) console.log(JSON.stringify({ summary }));
  else {
    for (const line of formatMergeSummary(summary)) console.log(line);
    if (config.GALLERY !== summary.gallery)
      console.log(
        `Search it: GALLERY=${summary.gallery} VECTOR_INDEX=${summary.index} genir chat, or genir gallery bind ${summary.gallery} …`,
      );
  }
  return 0;
}
