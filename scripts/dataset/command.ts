/** `genir dataset …` (registered by scripts/cli.ts): import COCO / Flickr30k / ChatIR / a folder, build a GenIR dialogue dataset. */
import { Argument, type Command, InvalidArgumentError } from 'commander';
import { addVlmOptions, dollars, type vlmOptions } from '../eval/cli.ts';
import { DATASET_KINDS, type DatasetKind } from './loaders.ts';

/** What the subcommands run, loaded when one runs: `genir --help` lists them without loading it. */
const runCommands = () => import('./run-commands.ts');

export interface ImportOptions {
  images: string;
  annotations: string;
  name: string;
  split?: string;
  batch?: number;
  json?: boolean;
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
      const { datasetImportCommand } = await runCommands();
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
    const { datasetBuildCommand } = await runCommands();
    process.exitCode = await datasetBuildCommand(opts);
  });
  return dataset;
}

const DEFAULT_LICENCE =
  "the source dataset's image licences apply to the targets; the synthetic images follow the generator's terms";

type VlmCliOptions = Parameters<typeof vlmOptions>[0];

export interface BuildCliOptions extends VlmCliOptions {
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
