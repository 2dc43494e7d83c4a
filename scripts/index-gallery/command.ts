/**
 * The `genir index` command (commander): `registerIndexCommand(program)` adds it to the genir CLI;
 * `scripts/index-gallery/main.ts` runs it alone.
 */
import { basename } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { IndexKind } from '../../bots/vector-index.ts';

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
}

export function registerIndexCommand(program: Command): Command {
  return program
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
    .action(async (sources: string[], opts: IndexCommandOptions) => {
      process.exitCode = await runIndexCommand(sources, opts);
    });
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
  const dir = `${config.DATA_DIR}/${GALLERIES_DIR}/${name}`;
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
      progress: opts.json ? jsonProgress('index') : progressBar('index'),
      signal: controller.signal,
    });
    if (opts.json) console.log(JSON.stringify({ summary }));
    else {
      for (const line of formatSummary(summary)) console.log(line);
      if (config.GALLERY !== name)
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
