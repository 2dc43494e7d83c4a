/**
 * The GenIR dialogue format, defined once: real chat transcripts (`genir export`) and synthetic
 * dialogues (`genir dataset build`) are written by the same writer (transcript-export.ts) and
 * validated against this schema. schemas/genir-dialogue.schema.json is emitted from it
 * (`npm run schema`), for readers in other languages.
 */
import { z } from 'zod';

export const genirRoundSchema = z
  .object({
    round: z.number().int().min(0).describe('0-based round index'),
    caption: z.string().describe('the refined query of the round (what the image was generated from)'),
    user_message: z
      .string()
      .describe('what the user wrote that started the round ("/more 3" etc. for controls)'),
    generated_image_path: z
      .string()
      .nullable()
      .describe('the synthetic image, relative to the dataset folder; null when the round drew nothing new'),
    generator: z.string().nullable().describe('the image generator ("upload": the person\'s own picture)'),
    seed: z.number().int().nullable().describe('seed of the generation'),
    encoder: z.string().describe('image encoder of the retrieval'),
    retrieved: z
      .array(z.object({ asset_id: z.string(), score: z.number() }))
      .describe('the matches shown, best first, with cosine scores'),
    feedback: z
      .array(z.object({ kind: z.string(), asset_ids: z.array(z.string()) }))
      .describe('what the user said about the matches: picked, more-like, not-these'),
    label: z.union([z.literal(0), z.literal(1)]).describe('1 if the target was picked in this round'),
    user: z.string().describe('salted hash of the person, or the simulated user'),
    timings_ms: z.record(z.string(), z.number()).describe('stage latencies of the round'),
    created_at: z.string().describe('ISO time of the round'),
  })
  .strict();

export const genirDialogueSchema = z
  .object({
    dialogue_id: z.string().min(1).describe('pseudonymous id of the search'),
    image_id: z
      .string()
      .nullable()
      .describe('gallery asset id of the image the user picked as the one they meant; null if none'),
    target: z
      .object({
        asset_id: z.string().describe('gallery asset id (content id) of the target'),
        dataset_id: z
          .string()
          .nullable()
          .describe("the dataset's own id of the target (e.g. COCO's image id)"),
      })
      .strict()
      .optional()
      .describe(
        'synthetic dialogues: the image the simulated user was looking for (known even when never found)',
      ),
    rounds: z.array(genirRoundSchema),
  })
  .strict();

export type GenirRound = z.infer<typeof genirRoundSchema>;
export type GenirDialogue = z.infer<typeof genirDialogueSchema>;

/** The JSON Schema of one dialogue file (draft 2020-12). */
export function genirJsonSchema(): Record<string, unknown> {
  return {
    title: 'GenIR dialogue',
    ...z.toJSONSchema(genirDialogueSchema),
  };
}
