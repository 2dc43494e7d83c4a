import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRoundImageStore } from '../../adapters/store/files.ts';
import { genirDialogueSchema } from '../../adapters/store/genir-format.ts';
import { openSqliteStores } from '../../adapters/store/sqlite/index.ts';
import { exportTranscripts, pseudonym } from '../../adapters/store/transcript-export.ts';
import type { TranscriptRecord } from '../../core/ports.ts';

const KEY = 'slack:T1:C1:1700000000.000100';

/** A scripted three-round search: describe, correct, "more like 2", then pick #1 in round 3. */
function scriptedRecords(images: Record<number, string | null>): TranscriptRecord[] {
  const base = { threadKey: KEY, userHash: 'userhash', encoderId: 'tiny-scene-v1', timings: { generate: 5 } };
  return [
    {
      ...base,
      roundId: 'r0',
      roundIndex: 0,
      message: 'a red circle',
      query: 'a red circle',
      generatorId: 'sketch',
      seed: 11,
      syntheticImage: images[0] ?? null,
      retrieved: [
        { assetId: 'a1', score: 0.9 },
        { assetId: 'a2', score: 0.8 },
      ],
      feedback: [],
      label: 0,
      createdAt: Date.UTC(2026, 10, 1, 12, 0, 0),
    },
    {
      ...base,
      roundId: 'r1',
      roundIndex: 1,
      message: 'it is blue',
      query: 'a blue circle',
      generatorId: 'sketch',
      seed: 12,
      syntheticImage: images[1] ?? null,
      retrieved: [
        { assetId: 'b1', score: 0.7 },
        { assetId: 'b2', score: 0.6 },
      ],
      feedback: [{ kind: 'more-like', assetIds: ['b2'] }],
      label: 0,
      createdAt: Date.UTC(2026, 10, 1, 12, 1, 0),
    },
    {
      ...base,
      roundId: 'r2',
      roundIndex: 2,
      message: '/more 2',
      query: 'a blue circle',
      generatorId: null,
      seed: null,
      syntheticImage: null,
      retrieved: [{ assetId: 'c1', score: 0.95 }],
      feedback: [{ kind: 'picked', assetIds: ['c1'] }],
      label: 1,
      createdAt: Date.UTC(2026, 10, 1, 12, 2, 0),
    },
  ];
}

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'genir-export-'));
  const stores = openSqliteStores(':memory:');
  const images = new FileRoundImageStore(join(dir, 'rounds'));
  const ref0 = await images.put(KEY, 'r0', Buffer.from('png-0'));
  const ref1 = await images.put(KEY, 'r1', Buffer.from('png-1'));
  for (const r of scriptedRecords({ 0: ref0, 1: ref1 })) await stores.transcripts.put(r);
  return { dir, stores, images };
}

describe('genir export', () => {
  it("exports one tenant only when asked (an admin's /export)", async () => {
    const { dir, stores, images } = await setup();
    const elsewhere = 'discord:111:2:3';
    for (const r of scriptedRecords({})) await stores.transcripts.put({ ...r, threadKey: elsewhere });
    const mine = await exportTranscripts({
      out: join(dir, 'mine'),
      transcripts: stores.transcripts,
      images,
      salt: 's',
      tenant: 'discord:111',
    });
    expect(mine).toEqual({ dialogues: 1, rounds: 3 });
    expect((await readdir(join(dir, 'mine'))).filter((f) => f.endsWith('.json'))).toEqual([
      `${pseudonym('s', elsewhere)}.json`,
    ]);
    const nobody = await exportTranscripts({
      out: join(dir, 'nobody'),
      transcripts: stores.transcripts,
      images,
      salt: 's',
      tenant: 'slack:T9',
    });
    expect(nobody).toEqual({ dialogues: 0, rounds: 0 });
  });

  it('writes the GenIR layout of a scripted three-round search exactly', async () => {
    const { dir, stores, images } = await setup();
    const out = join(dir, 'export');
    const result = await exportTranscripts({ out, transcripts: stores.transcripts, images, salt: 's' });
    expect(result).toEqual({ dialogues: 1, rounds: 3 });
    const id = pseudonym('s', KEY);
    expect((await readdir(out)).sort()).toEqual([id, `${id}.json`, 'README.md'].sort());
    expect((await readdir(join(out, id))).sort()).toEqual(['round_0.png', 'round_1.png']);
    expect(await readFile(join(out, id, 'round_1.png'), 'utf8')).toBe('png-1');
    const round = (n: number, extra: object) => ({
      round: n,
      encoder: 'tiny-scene-v1',
      user: 'userhash',
      timings_ms: { generate: 5 },
      created_at: `2026-11-01T12:0${n}:00.000Z`,
      ...extra,
    });
    const written = JSON.parse(await readFile(join(out, `${id}.json`), 'utf8'));
    // Real transcripts and synthetic dialogues (genir dataset build) share one schema.
    expect(genirDialogueSchema.safeParse(written).error).toBeUndefined();
    expect(written).toEqual({
      dialogue_id: id,
      image_id: 'c1',
      rounds: [
        round(0, {
          caption: 'a red circle',
          user_message: 'a red circle',
          generated_image_path: `${id}/round_0.png`,
          generator: 'sketch',
          seed: 11,
          retrieved: [
            { asset_id: 'a1', score: 0.9 },
            { asset_id: 'a2', score: 0.8 },
          ],
          feedback: [],
          label: 0,
        }),
        round(1, {
          caption: 'a blue circle',
          user_message: 'it is blue',
          generated_image_path: `${id}/round_1.png`,
          generator: 'sketch',
          seed: 12,
          retrieved: [
            { asset_id: 'b1', score: 0.7 },
            { asset_id: 'b2', score: 0.6 },
          ],
          feedback: [{ kind: 'more-like', asset_ids: ['b2'] }],
          label: 0,
        }),
        round(2, {
          caption: 'a blue circle',
          user_message: '/more 2',
          generated_image_path: null,
          generator: null,
          seed: null,
          retrieved: [{ asset_id: 'c1', score: 0.95 }],
          feedback: [{ kind: 'picked', asset_ids: ['c1'] }],
          label: 1,
        }),
      ],
    });
    const readme = await readFile(join(out, 'README.md'), 'utf8');
    for (const field of ['image_id', 'caption', 'generated_image_path', 'retrieved', 'label'])
      expect(readme).toContain(field);
    expect(JSON.stringify(await readFile(join(out, `${id}.json`), 'utf8'))).not.toContain('slack:T1');
  });

  it('writes one JSONL line per dialogue and honours --since', async () => {
    const { dir, stores, images } = await setup();
    const out = join(dir, 'jsonl');
    const since = Date.UTC(2026, 10, 1, 12, 1, 0);
    await exportTranscripts({
      out,
      transcripts: stores.transcripts,
      images,
      salt: 's',
      format: 'jsonl',
      since,
    });
    const lines = (await readFile(join(out, 'transcripts.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    const dialogue = JSON.parse(lines[0] as string);
    expect(dialogue.rounds.map((r: { round: number }) => r.round)).toEqual([1, 2]);
    expect(dialogue.image_id).toBe('c1');
  });

  it('purges records older than the retention period', async () => {
    const { stores } = await setup();
    expect(await stores.transcripts.purgeBefore(Date.UTC(2026, 10, 1, 12, 1, 30))).toBe(2);
    expect((await stores.transcripts.list()).map((r) => r.roundIndex)).toEqual([2]);
  });
});
