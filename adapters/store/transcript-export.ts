import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RoundImageStore, TranscriptRecord, TranscriptStore } from '../../core/ports.ts';
import type { TenantId } from '../../core/tenant.ts';
import { type Progress, silentProgress } from '../progress/index.ts';
import type { GenirDialogue, GenirRound } from './genir-format.ts';

export type ExportFormat = 'genir' | 'jsonl';

export interface ExportOptions {
  out: string;
  transcripts: TranscriptStore;
  images: RoundImageStore;
  /** Salt of the pseudonymous dialogue ids (thread keys never leave the server). */
  salt: string;
  since?: number;
  /** Only this tenant's transcripts (an admin's /export); all of them when absent (the CLI). */
  tenant?: TenantId;
  format?: ExportFormat;
  progress?: Progress;
  /** Synthetic dialogues: the target each thread searched for (written as `target`). */
  targetOf?: (threadKey: string) => GenirDialogue['target'];
  /** Appended to the README (e.g. a dataset card). */
  readmeExtra?: string;
}

export type DialogueRound = GenirRound;
export type Dialogue = GenirDialogue;

const README = `# genir-chat transcripts

Refinement transcripts of people searching for an image they remember, in the GenIR data
format: one dialogue per search, one entry per round. Only searches whose people agreed
(TRANSCRIPTS=opt-in: "Keep this search for research"; TRANSCRIPTS=on: notice in the thread)
are here. People are pseudonymous: \`user\` is a salted hash; thread ids are replaced by
\`dialogue_id\`, a salted hash too.

## Files
- \`<dialogue_id>.json\` (format genir) or \`transcripts.jsonl\` (format jsonl, one dialogue a line)
- \`<dialogue_id>/round_<n>.png\`: the synthetic image the bot showed in round n
- the JSON Schema of a dialogue: \`schemas/genir-dialogue.schema.json\` in genir-chat

## Fields of a dialogue
- \`dialogue_id\`: pseudonymous id of the search
- \`image_id\`: gallery asset id of the image the person picked as the one they meant; null if none
- \`target\` (synthetic dialogues only): \`asset_id\` and \`dataset_id\` of the image the simulated
  user was looking for, known even when it was never found
- \`rounds[]\`, in order:
  - \`round\`: 0-based round index
  - \`caption\`: the refined query of the round (what the image was generated from)
  - \`user_message\`: what the person wrote that started the round ("/more 3" etc. for controls)
  - \`generated_image_path\`: the synthetic image, relative to this folder; null when the round drew
    nothing new (more-like / not-these) or drawing failed
  - \`generator\`, \`seed\`: the image generator and its seed ("upload": the person's own picture)
  - \`encoder\`: image encoder of the retrieval
  - \`retrieved\`: the matches shown, best first, with cosine scores
  - \`feedback\`: what the person said about them: picked, more-like, not-these (asset ids)
  - \`label\`: 1 if the person picked the target in this round, else 0
  - \`user\`: salted hash of the person
  - \`timings_ms\`: stage latencies of the round
  - \`created_at\`: ISO time of the round
`;

export function pseudonym(salt: string, value: string): string {
  return createHash('sha256').update(`${salt}:${value}`).digest('hex').slice(0, 16);
}

function groupByThread(records: TranscriptRecord[]): Map<string, TranscriptRecord[]> {
  const threads = new Map<string, TranscriptRecord[]>();
  for (const r of records) threads.set(r.threadKey, [...(threads.get(r.threadKey) ?? []), r]);
  for (const list of threads.values()) list.sort((a, b) => a.roundIndex - b.roundIndex);
  return threads;
}

/** Writes the consented transcripts in the GenIR layout (or JSONL) with their images. */
export async function exportTranscripts(
  options: ExportOptions,
): Promise<{ dialogues: number; rounds: number }> {
  const format = options.format ?? 'genir';
  const records = await options.transcripts.list({
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
  });
  const threads = groupByThread(records);
  await mkdir(options.out, { recursive: true });
  const progress = options.progress ?? silentProgress;
  progress.start(threads.size);
  const lines: string[] = [];
  let done = 0;
  for (const [key, rounds] of threads) {
    const id = pseudonym(options.salt, key);
    const target = options.targetOf?.(key);
    const dialogue: Dialogue = {
      dialogue_id: id,
      image_id:
        rounds.find((r) => r.label === 1)?.feedback.find((f) => f.kind === 'picked')?.assetIds[0] ?? null,
      ...(target ? { target } : {}),
      rounds: [],
    };
    for (const r of rounds) {
      const png = r.syntheticImage ? await options.images.get(r.syntheticImage) : null;
      const path = png ? `${id}/round_${r.roundIndex}.png` : null;
      if (png && path) {
        await mkdir(join(options.out, id), { recursive: true });
        await writeFile(join(options.out, path), png);
      }
      dialogue.rounds.push({
        round: r.roundIndex,
        caption: r.query,
        user_message: r.message,
        generated_image_path: path,
        generator: r.generatorId,
        seed: r.seed,
        encoder: r.encoderId,
        retrieved: r.retrieved.map((m) => ({ asset_id: m.assetId, score: m.score })),
        feedback: r.feedback.map((f) => ({ kind: f.kind, asset_ids: f.assetIds })),
        label: r.label,
        user: r.userHash,
        timings_ms: r.timings,
        created_at: new Date(r.createdAt).toISOString(),
      });
    }
    if (format === 'genir')
      await writeFile(join(options.out, `${id}.json`), `${JSON.stringify(dialogue, null, 2)}\n`);
    else lines.push(JSON.stringify(dialogue));
    progress.update(++done);
  }
  if (format === 'jsonl')
    await writeFile(join(options.out, 'transcripts.jsonl'), lines.map((l) => `${l}\n`).join(''));
  await writeFile(
    join(options.out, 'README.md'),
    README + (options.readmeExtra ? `\n${options.readmeExtra}` : ''),
  );
  progress.stop();
  return { dialogues: threads.size, rounds: records.length };
}
