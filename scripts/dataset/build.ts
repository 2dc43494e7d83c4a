/**
 * `genir dataset build`: GenIR's annotation pipeline. For each target, a VLM writes the initial
 * query from the target image; then, round after round, the configured bot generates an image
 * from its query, retrieves with it, the round is labelled (1 when the target is among the shown
 * matches) and the VLM compares the drawing with the target and refines. It is the `visual`
 * condition of `genir eval` on the same machinery (paid calls cached, --max-cost, resume), and the
 * dialogues are written by the transcript export's writer, in the one GenIR format:
 *
 *   <out>/dialogues/   <dialogue_id>.json + <dialogue_id>/round_<n>.png + README.md (with the card)
 *   <out>/card.json    the dataset card: source, models, seeds, costs, licence
 *   <out>/run/         the eval run behind it (ranks per round, state, call cache)
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Progress } from '../../adapters/progress/index.ts';
import { FileRoundImageStore } from '../../adapters/store/files.ts';
import { genirDialogueSchema } from '../../adapters/store/genir-format.ts';
import { openSqliteStores } from '../../adapters/store/sqlite/index.ts';
import { exportTranscripts } from '../../adapters/store/transcript-export.ts';
import { encodeThreadKey } from '../../core/thread-key.ts';
import { runEval } from '../eval/run.ts';
import type { OpenedGalleryWorld } from '../eval/worlds.ts';

export const cardSchema = z
  .object({
    name: z.string(),
    created_at: z.string(),
    format: z.literal('genir'),
    schema: z.string(),
    source: z.object({
      gallery: z.string(),
      dataset: z.record(z.string(), z.unknown()),
      images: z.number().int(),
    }),
    licence: z.string().min(1),
    protocol: z.object({ rounds: z.number().int(), top_k: z.number().int(), condition: z.literal('visual') }),
    models: z.object({
      generator: z.string(),
      refiner: z.string(),
      encoder: z.string(),
      vlm: z.object({ model: z.string(), temperature: z.number(), top_p: z.number() }),
    }),
    seeds: z.object({
      targets: z.number().int(),
      generation: z.string(),
    }),
    targets: z.array(z.object({ asset_id: z.string(), dataset_id: z.string().nullable() })),
    counts: z.object({ dialogues: z.number().int(), rounds: z.number().int(), found: z.number().int() }),
    costs: z.object({
      usd: z.number(),
      calls: z.record(z.string(), z.number()),
      note: z.string(),
    }),
  })
  .strict();
export type DatasetCard = z.infer<typeof cardSchema>;

export interface BuildOptions {
  out: string;
  name: string;
  rounds: number;
  seed: number;
  licence: string;
  concurrency?: number;
  fresh?: boolean;
  progress?: Progress;
  log?: (line: string) => void;
}

const SALT = 'genir-dataset';

function cardMarkdown(card: DatasetCard): string {
  return [
    `## Dataset card: ${card.name}`,
    '',
    `- source: gallery \`${card.source.gallery}\` (${card.source.images} images; ${JSON.stringify(card.source.dataset)})`,
    `- licence: ${card.licence}`,
    `- protocol: ${card.protocol.rounds} rounds after round 0, top-${card.protocol.top_k}, GenIR's visual condition`,
    `- models: generator \`${card.models.generator}\`, refiner \`${card.models.refiner}\`, encoder \`${card.models.encoder}\`, VLM user \`${card.models.vlm.model}\` (temperature ${card.models.vlm.temperature}, top-p ${card.models.vlm.top_p})`,
    `- seeds: targets sampled with seed ${card.seeds.targets}; ${card.seeds.generation}`,
    `- ${card.counts.dialogues} dialogues, ${card.counts.rounds} rounds, target found in ${card.counts.found}`,
    `- cost: $${card.costs.usd.toFixed(4)} (${card.costs.note})`,
    '',
    'The full card is `../card.json`; every dialogue validates against `schemas/genir-dialogue.schema.json`.',
    '',
  ].join('\n');
}

/** Reads back every dialogue file and checks it against the shared schema; throws on the first bad one. */
export async function validateDialogues(dir: string): Promise<number> {
  let n = 0;
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
    const parsed = genirDialogueSchema.safeParse(JSON.parse(await readFile(join(dir, file), 'utf8')));
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`${file} does not match the GenIR schema: ${i?.path.join('.')}: ${i?.message}`);
    }
    n++;
  }
  return n;
}

export async function buildDataset(
  world: OpenedGalleryWorld,
  options: BuildOptions,
): Promise<{ card: DatasetCard; dir: string }> {
  const runDir = join(options.out, 'run');
  const summary = await runEval(world, {
    out: runDir,
    rounds: options.rounds,
    seed: options.seed,
    conditions: ['visual'],
    transcripts: 'off',
    salt: SALT,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.fresh ? { fresh: true } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(world.cache ? { budget: world.cache.budget } : {}),
  });
  const keyOf = new Map(world.targets.map((t) => [encodeThreadKey('eval', [t]), t]));
  const card: DatasetCard = {
    name: options.name,
    created_at: new Date().toISOString(),
    format: 'genir',
    schema: 'schemas/genir-dialogue.schema.json',
    source: {
      gallery: String(world.description.gallery),
      dataset: world.datasetMeta,
      images: await world.index.size(),
    },
    licence: options.licence,
    protocol: { rounds: options.rounds, top_k: 10, condition: 'visual' },
    models: {
      generator: world.generator.id,
      refiner: world.refiner.id,
      encoder: world.encoder.id,
      vlm: {
        model: world.vlm.options.model,
        temperature: world.vlm.options.temperature,
        top_p: world.vlm.options.topP,
      },
    },
    seeds: {
      targets: options.seed,
      generation:
        "each round's seed is in its dialogue entry (derived from the dialogue, the round and the query)",
    },
    targets: world.targets.map((t) => ({ asset_id: t, dataset_id: world.datasetIds.get(t) ?? null })),
    counts: {
      dialogues: summary.records.length,
      rounds: summary.records.reduce((s, r) => s + r.turns.length, 0),
      found: summary.records.filter((r) => r.foundAt !== null).length,
    },
    costs: {
      usd: Math.round((world.cache?.budget.spentUsd ?? 0) * 1e6) / 1e6,
      calls: world.cache?.counts() ?? {},
      note: 'estimated from prices.ts (list prices and token usage), over every attempt of this build',
    },
  };
  cardSchema.parse(card);
  const dir = join(options.out, 'dialogues');
  await rm(dir, { recursive: true, force: true });
  const stateDir = join(runDir, 'conditions', 'visual');
  const stores = openSqliteStores(join(stateDir, 'state.db'));
  try {
    await exportTranscripts({
      out: dir,
      transcripts: stores.transcripts,
      images: new FileRoundImageStore(join(stateDir, 'rounds')),
      salt: SALT,
      format: 'genir',
      targetOf: (key) => {
        const assetId = keyOf.get(key);
        return assetId ? { asset_id: assetId, dataset_id: world.datasetIds.get(assetId) ?? null } : undefined;
      },
      readmeExtra: cardMarkdown(card),
    });
  } finally {
    stores.db.close();
  }
  await validateDialogues(dir);
  await writeFile(join(options.out, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  return { card, dir };
}
