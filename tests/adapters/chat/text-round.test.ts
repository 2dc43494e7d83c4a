/** Every front end renders a text round (the router chose words): no picture, and why, where it would be. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRound } from '../../../adapters/chat/discord/renderer.ts';
import { roundBlocks } from '../../../adapters/chat/slack/renderer.ts';
import { TerminalRenderer } from '../../../adapters/chat/terminal/renderer.ts';
import { WebRenderer } from '../../../adapters/chat/web/renderer.ts';
import { encodeThreadId, newThreadId } from '../../../adapters/chat/web/thread-id.ts';
import { NO_PICTURE, roundActions } from '../../../core/round-view.ts';
import type { Round, RoundView, ThreadState } from '../../../core/types.ts';

const WEB_KEY = encodeThreadId('owner1', newThreadId());
const round: Round = {
  id: 'r2',
  index: 1,
  cause: 'refine',
  userText: 'it is large',
  query: 'a large red circle',
  generated: null,
  route: { decision: 'text', by: 'heuristic', reason: 'a small change since the last picture' },
  baseVector: [],
  encoderId: 'e',
  matches: [{ assetId: 'a1', score: 0.9 }],
  feedback: [],
  notes: ['No picture this round (a small change since the last picture); …'],
  timings: {},
  userId: 'u',
  createdAt: 0,
};
const drawn: Round = {
  ...round,
  id: 'r1',
  index: 0,
  route: { decision: 'draw', by: 'heuristic', reason: 'x' },
  generated: { generatorId: 'g', seed: 1, image: 'x.png' },
};
const state: ThreadState = {
  key: WEB_KEY,
  status: 'active',
  rounds: [drawn, round],
  version: 2,
  createdAt: 0,
  updatedAt: 0,
};
const view: RoundView = {
  threadKey: WEB_KEY,
  roundId: 'r2',
  roundNumber: 2,
  query: round.query,
  syntheticPng: null,
  noPicture: NO_PICTURE,
  contactSheetPng: Buffer.from('png'),
  tiles: [{ n: 1, assetId: 'a1', title: 'one', score: 0.9 }],
  notes: round.notes,
  actions: roundActions(round),
};

describe('a text round in every front end', () => {
  it('Discord: the picture field says there is none and why', () => {
    const json = JSON.stringify(renderRound(view).embeds);
    expect(json).toContain(NO_PICTURE);
    expect(json).not.toContain('Same drawing as the previous round');
  });

  it('Slack: the drawn-section says there is none', () => {
    expect(JSON.stringify(roundBlocks(view))).toContain('No picture this round');
  });

  it('terminal: the line where the picture path would be', async () => {
    const text = await new TerminalRenderer(await mkdtemp(join(tmpdir(), 'genir-tr-'))).render({
      kind: 'round',
      view: { ...view, threadKey: 'terminal:s1' },
    });
    expect(text).toContain(NO_PICTURE);
  });

  it('web: no earlier drawing is shown as this round’s, and the page gets the sentence', () => {
    const gallery = {
      get: async () => null,
      getMany: async () => new Map(),
      read: async () => null,
      count: async () => 0,
    };
    const web = new WebRenderer(gallery).roundFromView(view, state);
    expect(web.synthetic).toBeNull();
    expect(web.noPicture).toBe(NO_PICTURE);
  });
});
