/**
 * The Slack front end against a local fake Slack: a real Bolt App (bots/slack.ts) whose Web API
 * client talks to tests/fakes/slack on 127.0.0.1, driven by signed HTTP requests, and once
 * through Socket Mode.
 */

import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { webApi } from '@slack/bolt';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkFileOrigins } from '../../../adapters/chat/slack/file-origins.ts';
import { Gate } from '../../../adapters/chat/slack/gate.ts';
import {
  clip,
  escapeMrkdwn,
  MORE_SELECT,
  noticeMrkdwn,
  PICK_SELECT,
  roundBlocks,
  slackCommands,
  unescapeSlack,
} from '../../../adapters/chat/slack/renderer.ts';
import { decodeThreadId, encodeThreadId } from '../../../adapters/chat/slack/thread-id.ts';
import { type Config, ConfigError, loadConfig } from '../../../bots/config.ts';
import { createSlackFrontEnd } from '../../../bots/slack.ts';
import type { ChatEngine } from '../../../core/ports.ts';
import type { RoundView } from '../../../core/types.ts';
import { closeServer, listenLocal, localOrigin } from '../../fakes/shared/http.ts';
import { blockKitProblem, type FakeCall, type FakeMessage, FakeSlack } from '../../fakes/slack/fake-slack.ts';
import { SlackRequestSender } from '../../fakes/slack/signer.ts';
import {
  PERSON,
  SIGNING_SECRET,
  type SlackWorld,
  type SlackWorldOptions,
  slackWorld,
  visibleText,
} from '../../fakes/slack/world.ts';
import { engineWorld } from '../../support/engine-world.ts';

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON
type Block = Record<string, any>;

const withWorld =
  (fn: (w: SlackWorld) => Promise<void>, options: SlackWorldOptions = {}) =>
  async () => {
    const w = await slackWorld(options);
    try {
      await fn(w);
    } finally {
      await w.close();
    }
  };

const stateOf = (w: SlackWorld, channel: string, threadTs: string) =>
  w.world.engine.thread(encodeThreadId(w.fake.identity.teamId, channel, threadTs));

const FORM = 'application/x-www-form-urlencoded';

/** The fields of `/genir a red circle` in C1, for command requests built by hand. */
const redCircleCommand = (w: SlackWorld) => ({
  text: 'a red circle',
  channel: 'C1',
  user: PERSON,
  responseUrl: w.fake.responseUrl('C1', PERSON),
});

const controlsOf = (m: FakeMessage) =>
  (m.blocks ?? []).find((b: Block) => b.type === 'actions') as Block | undefined;

/** Another server on 127.0.0.1 that records what reaches it (it must never see the bot token). */
async function recordingServer() {
  const requests: { url: string; authorization: string | undefined }[] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(8));
  });
  await listenLocal(server);
  return { requests, origin: localOrigin(server), close: () => closeServer(server) };
}

async function png(): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .png()
    .toBuffer();
}

describe('slack: starting a search', () => {
  it(
    '/genir acks at once, posts a root message, then both pictures and the round message in its thread',
    withWorld(async (w) => {
      // Generation is held back: the command must still be acknowledged.
      let release = () => {};
      w.world.deps.generator.gate = new Promise<void>((r) => {
        release = r;
      });
      const res = await w.sender.command({
        text: 'a red circle at the top left',
        channel: 'C1',
        user: PERSON,
        responseUrl: w.fake.responseUrl('C1', PERSON),
      });
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
      release();
      w.world.deps.generator.gate = null;
      await w.idle();

      const [root, ...others] = w.fake.topLevel('C1').filter((m) => m.via !== 'person');
      expect(others).toEqual([]);
      expect(root?.text).toContain('a red circle at the top left');
      const thread = w.botMessages('C1', root?.ts as string);
      expect(thread.map((m) => m.via)).toEqual(['files.completeUploadExternal', 'chat.postMessage']);
      const [upload, round] = thread as [FakeMessage, FakeMessage];
      expect(upload.files.map((f) => f.name)).toEqual(['round-01-drawing.png', 'round-01-matches.png']);
      expect(upload.files.every((f) => f.png && f.bytes > 0)).toBe(true);

      expect(round.metadata).toMatchObject({ event_type: 'genir_round', event_payload: { round: 1 } });
      expect(visibleText(round)).toContain('*Round 1*');
      expect(visibleText(round)).toContain('a red circle at the top left');
      const state = await stateOf(w, 'C1', root?.ts as string);
      const roundId = state?.rounds[0]?.id as string;
      const controls = controlsOf(round) as Block;
      const selects = controls.elements.filter((e: Block) => e.type === 'static_select');
      expect(selects.map((s: Block) => s.action_id)).toEqual([PICK_SELECT, MORE_SELECT]);
      expect(selects[0].placeholder.text).toBe("That's it: #1…#10");
      expect(selects[0].options.map((o: Block) => o.value)).toEqual(
        Array.from({ length: 10 }, (_, i) => `genir:pick:${roundId}:${i + 1}`),
      );
      expect(selects[1].options[2].value).toBe(`genir:more:${roundId}:3`);
      const buttons = controls.elements.filter((e: Block) => e.type === 'button');
      // (A "Keep this search for research" button follows when transcripts are opt-in.)
      expect(buttons.slice(0, 4).map((b: Block) => b.text.text)).toEqual([
        'Not these',
        'Regenerate',
        'Undo',
        'New search',
      ]);
      expect(buttons.slice(0, 4).map((b: Block) => b.action_id)).toEqual([
        `genir:not:${roundId}:`,
        `genir:regen:${roundId}:`,
        `genir:undo:${roundId}:`,
        `genir:reset:${roundId}:`,
      ]);
      // The progress line was shown while the round ran, then removed.
      expect(w.fake.callsOf('chat.delete')).toHaveLength(1);
      expect(w.fake.messages.filter((m) => m.deleted).map((m) => m.text)).toEqual([
        expect.stringContaining('Drawing what I understood'),
      ]);
    }),
  );

  it(
    'a mention in a channel starts a thread on that message, without the mention in the query',
    withWorld(async (w) => {
      const ts = await w.mention({ channel: 'C2', text: 'a blue square' });
      await w.idle();
      const rounds = w.roundMessages('C2', ts);
      expect(rounds).toHaveLength(1);
      expect(visibleText(rounds[0] as FakeMessage)).toContain('*Round 1* · a blue square');
      expect(w.fake.topLevel('C2').filter((m) => m.via !== 'person')).toEqual([]);
      const state = await stateOf(w, 'C2', ts);
      expect(state?.rounds.map((r) => r.userText)).toEqual(['a blue square']);
    }),
  );

  it(
    'in a DM, top-level messages are one running search, answered at the top level',
    withWorld(async (w) => {
      await w.say({ channel: 'D1', text: 'a red circle' });
      await w.say({ channel: 'D1', text: 'it is blue' });
      await w.press('D1', undefined, 'more', 2);
      const posts = await w.posts('D1');
      expect(posts.filter((p) => p.kind === 'round').map((p) => p.round)).toEqual([1, 2, 3]);
      expect(w.fake.messages.filter((m) => m.channel === 'D1' && m.threadTs)).toEqual([]);
      const state = await w.world.engine.thread(encodeThreadId(w.fake.identity.teamId, 'D1', '-'));
      expect(state?.rounds.map((r) => r.cause)).toEqual(['find', 'refine', 'more-like']);
    }),
  );

  it(
    'applies the rate limits before posting a root message: a search over them is refused privately',
    withWorld(
      async (w) => {
        expect(await w.command('C1', 'a red circle')).toBeDefined();
        const roots = () =>
          w.fake.topLevel('C1').filter((m) => m.via !== 'person' && m.via !== 'response_url');
        expect(roots()).toHaveLength(1);
        await w.command('C1', 'a blue square');
        expect(roots()).toHaveLength(1);
        const told = w.fake.messages.filter((m) => m.via === 'response_url').at(-1);
        expect(told?.text).toMatch(/^Slow down a little/);
        expect(told?.ephemeralTo).toBe(PERSON);
      },
      { engine: { roundsPerUserPerMinute: 1 } },
    ),
  );

  it(
    '/genir with no description answers with help, only to the person, through response_url',
    withWorld(async (w) => {
      await w.command('C3', '   ');
      const [answer, ...rest] = w.fake.messages.filter((m) => m.channel === 'C3');
      expect(rest).toEqual([]);
      expect(answer?.via).toBe('response_url');
      expect(answer?.ephemeralTo).toBe(PERSON);
      expect(answer?.text).toContain('/genir <description>');
      expect(w.fake.callsOf('chat.postMessage')).toEqual([]);
    }),
  );

  it(
    '/genir where the bot may not post explains how to invite it, to the person only',
    withWorld(async (w) => {
      w.fake.errorNext('chat.postMessage', 'not_in_channel');
      await w.command('C4', 'a red circle');
      const seen = w.fake.messages.filter((m) => m.channel === 'C4');
      expect(seen.map((m) => [m.via, m.ephemeralTo])).toEqual([['response_url', PERSON]]);
      expect(seen[0]?.text).toContain('/invite @genir');
    }),
  );
  it('admins of the workspace: its admins and owners (users.info) and ADMIN_USER_IDS slack:<team>:<user>, nobody else', async () => {
    const admin = { status: async (tenant: string) => `status of ${tenant}`, export: async () => 'exported' };
    const w = await slackWorld({
      engine: { admin, isAdmin: (id) => id === 'slack:T0FAKE:UNAMED' || id === `slack:TOTHER:${PERSON}` },
    });
    try {
      const tenant = `slack:${w.fake.identity.teamId}`;
      w.fake.workspaceAdmins.add('UADMIN');
      w.fake.workspaceOwners.add('UOWNER');
      const answers = async (user: string) => {
        await w.command('C6', 'status', user);
        return w.fake.messages.filter((m) => m.via === 'response_url' && m.ephemeralTo === user).at(-1)?.text;
      };
      expect(await answers('UADMIN')).toBe(`status of ${tenant}`);
      expect(await answers('UOWNER')).toBe(`status of ${tenant}`);
      // An admin named for another workspace is nobody here.
      expect(await answers(PERSON)).toMatch(/is for admins of this workspace only/);
      expect(await answers('UNAMED')).toBe(`status of ${tenant}`);
      expect(w.fake.calls.filter((c) => c.method === 'users.info').length).toBeGreaterThanOrEqual(3);
    } finally {
      await w.close();
    }
  });
  it('serves only its own workspace: another team is refused, and after app_uninstalled so is this one', async () => {
    const events: string[] = [];
    const tenants = {
      joined: async (t: string) => void events.push(`joined ${t}`),
      left: async (t: string) => void events.push(`left ${t}`),
      installation: async () => null,
    };
    const w = await slackWorld({ tenants });
    try {
      const tenant = `slack:${w.fake.identity.teamId}`;
      expect(events).toEqual([`joined ${tenant}`]);
      const url = `http://127.0.0.1:${w.bot.port}/slack/events`;
      const other = new SlackRequestSender(url, SIGNING_SECRET, { ...w.fake.identity, teamId: 'TOTHER' });
      const refused = await other.command({
        text: 'a red circle',
        channel: 'C7',
        user: PERSON,
        responseUrl: w.fake.responseUrl('C7', PERSON),
      });
      expect(refused).toMatchObject({ status: 200, body: 'GenIR is not installed in this workspace.' });
      await other.event({
        type: 'message',
        channel: 'D7',
        channel_type: 'im',
        user: PERSON,
        text: 'a red circle',
        ts: w.fake.nextTs(),
      });
      await w.idle();
      expect(w.fake.messages.filter((m) => m.via !== 'person')).toEqual([]);

      await w.sender.event({ type: 'app_uninstalled' });
      await w.idle();
      expect(events).toEqual([`joined ${tenant}`, `left ${tenant}`]);
      const after = await w.sender.command({
        text: 'a red circle',
        channel: 'C7',
        user: PERSON,
        responseUrl: w.fake.responseUrl('C7', PERSON),
      });
      expect(after.body).toBe('GenIR is not installed in this workspace.');
      await w.idle();
      expect(w.fake.messages.filter((m) => m.via !== 'person')).toEqual([]);
    } finally {
      await w.close();
    }
  });
  it(
    '/genir forget answers only the person, through response_url, and posts nothing in the channel',
    withWorld(async (w) => {
      const root = (await w.command('C5', 'a red circle')) as string;
      await w.command('C5', 'forget');
      const answers = w.fake.messages.filter((m) => m.via === 'response_url');
      expect(answers.map((m) => m.ephemeralTo)).toEqual([PERSON]);
      expect(answers[0]?.text).toMatch(/Deleted 1 search and/);
      expect(await stateOf(w, 'C5', root)).toBeNull();
      // Only the root message of the search: nothing about the forgetting is posted for others to see.
      expect(
        w.fake
          .topLevel('C5')
          .filter((m) => !m.ephemeralTo)
          .map((m) => m.via),
      ).toEqual(['chat.postMessage']);
    }),
  );
});

describe('slack: rounds in a thread', () => {
  it(
    'a reply in a thread with a search is a refinement (round 2); the old round’s controls are retired',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
      const rounds = (await w.posts('C1', root)).filter((p) => p.kind === 'round');
      expect(rounds.map((p) => [p.round, p.images])).toEqual([
        [1, 2],
        [2, 2],
      ]);
      expect(rounds[1]?.text).toContain('a red circle; it is blue');
      const [first, second] = w.roundMessages('C1', root) as [FakeMessage, FakeMessage];
      expect(controlsOf(first)).toBeUndefined();
      expect(visibleText(first)).toContain('Round 2 below is the current one');
      expect(controlsOf(second)).toBeDefined();
    }),
  );

  it(
    'research: the notice on round 1 stays when its controls retire; Keep stores consent and leaves later rounds',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      await w.press('C1', root, 'keep');
      await w.idle();
      expect((await stateOf(w, 'C1', root))?.consent?.userId).toBe(PERSON);
      const thanks = w.botMessages('C1', root).at(-1);
      expect(thanks?.text).toContain('kept for research');
      expect(thanks?.ephemeralTo).toBeUndefined();
      await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
      await w.idle();
      const [first, second] = w.roundMessages('C1', root) as [FakeMessage, FakeMessage];
      expect(visibleText(first)).toContain('`/genir forget` deletes your data.');
      expect(visibleText(second)).not.toContain('Research:');
      const labels = ((controlsOf(second)?.elements ?? []) as Block[]).map((e) => e.text?.text);
      expect(labels).not.toContain('Keep this search for research');
    }),
  );

  it(
    'people talking elsewhere are left alone: a channel without mention, a thread without a search, bots and edits',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      const other = w.fake.addPersonMessage('C1', 'UOTHER', 'lunch?').ts;
      await w.say({ channel: 'C1', text: 'hello team' });
      await w.say({ channel: 'C1', threadTs: other, text: 'yes, at noon' });
      await w.say({
        channel: 'C1',
        threadTs: root,
        text: 'a bot speaks',
        extra: { bot_id: 'BOTHER', subtype: 'bot_message' },
      });
      await w.say({ channel: 'C1', threadTs: root, text: 'edited', extra: { subtype: 'message_changed' } });
      await w.say({ channel: 'C1', threadTs: root, text: 'joined', extra: { subtype: 'channel_join' } });
      await w.say({ channel: 'C1', threadTs: root, text: 'my own post', user: w.fake.identity.botUserId });
      await w.idle();
      expect((await stateOf(w, 'C1', root))?.rounds).toHaveLength(1);
      expect(w.fake.thread('C1', other).filter((m) => m.via !== 'person')).toEqual([]);
      expect(w.fake.topLevel('C1').filter((m) => m.via !== 'person')).toHaveLength(1);
    }),
  );

  it(
    'every control: more-like, not-these, regenerate, undo, pick (posts the original), new search',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      const first = (await stateOf(w, 'C1', root))?.rounds[0];
      await w.press('C1', root, 'more', 3);
      await w.press('C1', root, 'not');
      await w.press('C1', root, 'regen');
      await w.press('C1', root, 'undo');
      let state = await stateOf(w, 'C1', root);
      expect(state?.rounds.map((r) => r.cause)).toEqual(['find', 'more-like', 'not-these']);
      expect(state?.rounds[0]?.feedback[0]).toMatchObject({
        kind: 'more-like',
        assetIds: [first?.matches[2]?.assetId],
      });

      await w.press('C1', root, 'pick', 2);
      state = await stateOf(w, 'C1', root);
      const picked = state?.rounds[2]?.matches[1]?.assetId;
      expect(state?.status).toBe('found');
      expect(state?.found?.assetId).toBe(picked);

      await w.press('C1', root, 'reset');
      await w.say({ channel: 'C1', threadTs: root, text: 'a green triangle' });

      const posts = await w.posts('C1', root);
      expect(
        posts.map((p) => (p.kind === 'round' ? `round ${p.round}: ${p.images}` : `${p.kind}: ${p.images}`)),
      ).toEqual([
        'round 1: 2',
        'round 2: 1', // more-like reuses the drawing: only the contact sheet
        'round 3: 1', // not-these too
        'round 4: 2', // regenerate draws again
        'notice: 0', // "Removed round 4…"
        'round 3: 1',
        'found: 1', // the original, uploaded into the thread
        'notice: 0', // "Started over…"
        'round 1: 2',
      ]);
      expect(posts[4]?.text).toContain('Removed round 4');
      expect(posts[6]?.text).toContain('Found it');
      expect(posts[6]?.text).toContain(`asset ${picked?.slice(1)}`);
      expect(posts[7]?.text).toContain('Started over');
      expect(posts[8]?.text).toContain('a green triangle');
      expect(posts.some((p) => p.ephemeral)).toBe(false);
    }),
  );

  it(
    'a control of an older round is answered as stale, ephemerally, to the person who pressed it',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
      await w.press('C1', root, 'pick', 1, 1, 'UOTHER');
      await w.idle();
      const stale = w.botMessages('C1', root).at(-1) as FakeMessage;
      expect(stale.via).toBe('chat.postEphemeral');
      expect(stale.ephemeralTo).toBe('UOTHER');
      expect(stale.text).toContain('no longer current');
      expect((await stateOf(w, 'C1', root))?.status).toBe('active');
    }),
  );

  it(
    'a non-image file shared in the thread gets a clear message naming it',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      const file = w.fake.hostFile('notes.pdf', 'application/pdf', Buffer.from('%PDF-1.4 not a picture'));
      await w.say({ channel: 'C1', threadTs: root, text: '', files: [file] });
      const last = (await w.posts('C1', root)).at(-1);
      expect(last?.kind).toBe('notice');
      expect(last?.text).toContain('notes.pdf');
      expect(last?.text).toContain('not an image');
      expect((await stateOf(w, 'C1', root))?.rounds).toHaveLength(1);
    }),
  );

  it(
    'an image shared in the thread is downloaded with the bot token and searched with',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      const file = w.fake.hostFile('photo.png', 'image/png', await png());
      await w.say({ channel: 'C1', threadTs: root, text: 'like this one', files: [file] });
      await w.idle();
      expect(w.fake.downloadAuth).toEqual([`Bearer ${w.fake.identity.botToken}`]);
      expect((await stateOf(w, 'C1', root))?.rounds.map((r) => r.cause)).toEqual(['find', 'image']);
    }),
  );

  it(
    'the bot token goes to the allowed file origin only: a file URL on another host is refused unfetched',
    withWorld(async (w) => {
      const elsewhere = await recordingServer();
      try {
        const root = (await w.command('C1', 'a red circle')) as string;
        const file = {
          ...w.fake.hostFile('photo.png', 'image/png', await png()),
          url_private: `${elsewhere.origin}/photo.png`,
          url_private_download: `${elsewhere.origin}/photo.png?download=1`,
        };
        await w.say({ channel: 'C1', threadTs: root, text: '', files: [file] });
        const last = (await w.posts('C1', root)).at(-1);
        expect(elsewhere.requests).toEqual([]);
        expect(last?.kind).toBe('notice');
        expect(last?.text).toContain('photo.png');
        expect(last?.text).toContain("does not point to Slack's file server");
        expect((await stateOf(w, 'C1', root))?.rounds).toHaveLength(1);
      } finally {
        await elsewhere.close();
      }
    }),
  );

  it(
    'a redirect from the file server is not followed (the token would go along): the person is told',
    withWorld(async (w) => {
      const elsewhere = await recordingServer();
      try {
        const root = (await w.command('C1', 'a red circle')) as string;
        const file = w.fake.hostFile('photo.png', 'image/png', await png(), {
          redirectTo: `${elsewhere.origin}/photo.png`,
        });
        await w.say({ channel: 'C1', threadTs: root, text: 'like this one', files: [file] });
        const last = (await w.posts('C1', root)).at(-1);
        expect(elsewhere.requests).toEqual([]);
        expect(w.fake.downloadAuth).toEqual([`Bearer ${w.fake.identity.botToken}`]);
        expect(last?.text).toContain('photo.png');
        expect(last?.text).toContain('answered with a redirect instead of the file');
      } finally {
        await elsewhere.close();
      }
    }),
  );

  it(
    'a Slack Connect stub (file_access: check_file_info) is resolved through files.info and used',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      const stub = w.fake.hostFile('photo.png', 'image/png', await png(), { shown: 'check_file_info' });
      expect(stub).not.toHaveProperty('url_private');
      await w.say({ channel: 'C1', threadTs: root, text: 'like this one', files: [stub] });
      await w.idle();
      expect(w.fake.callsOf('files.info').filter((c) => c.params.file === stub.id)).toHaveLength(1);
      expect((await stateOf(w, 'C1', root))?.rounds.map((r) => r.cause)).toEqual(['find', 'image']);
    }),
  );

  it(
    'a file Slack hides (hidden_by_limit) is named with the reason, not called "not an image"',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      const hidden = w.fake.hostFile('old.png', 'image/png', await png(), { shown: 'hidden_by_limit' });
      await w.say({ channel: 'C1', threadTs: root, text: '', files: [hidden] });
      const last = (await w.posts('C1', root)).at(-1);
      expect(last?.kind).toBe('notice');
      expect(last?.text).toContain(String(hidden.id));
      expect(last?.text).toContain("over its plan's file limit");
      expect(last?.text).not.toContain('not an image');
      expect(w.fake.downloadAuth).toEqual([]);
    }),
  );

  it(
    'an upload Slack refuses becomes a short message in the thread, not silence',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      w.fake.errorNext('files.completeUploadExternal', 'missing_scope');
      await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
      const last = (await w.posts('C1', root)).at(-1);
      expect(last?.kind).toBe('notice');
      expect(last?.text).toContain('missing_scope');
      expect(last?.text).toContain('try again');
    }),
  );
});

describe('slack: retries, duplicates and rate limits', () => {
  it(
    'a retry storm and message/app_mention pairs produce exactly one round per person message',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      const reply = w.fake.addPersonMessage('C1', PERSON, 'it is blue', root);
      const body = w.sender.eventBody(
        {
          type: 'message',
          channel: 'C1',
          channel_type: 'channel',
          user: PERSON,
          text: 'it is blue',
          ts: reply.ts,
          thread_ts: root,
        },
        'EvRETRIED',
      );
      // The first delivery and four retries Slack sent because it thought the first timed out.
      const deliveries = [undefined, 1, 2, 3, 4].map((retryNum) =>
        w.sender.send(
          body,
          'application/json',
          retryNum === undefined ? {} : { retryNum, retryReason: 'http_timeout' },
        ),
      );

      // Two mentions in another channel, each arriving as app_mention + message, each pair delivered twice.
      const bot = w.fake.identity.botUserId;
      const mentions = ['a green triangle', 'a yellow star'].map((text) =>
        w.fake.addPersonMessage('C2', PERSON, `<@${bot}> ${text}`),
      );
      const pairs = mentions.flatMap((m) =>
        (['app_mention', 'message'] as const).map((type) =>
          w.sender.eventBody({
            type,
            channel: 'C2',
            user: PERSON,
            text: m.text,
            ts: m.ts,
            ...(type === 'message' ? { channel_type: 'channel' } : {}),
          }),
        ),
      );
      const pairDeliveries = pairs.flatMap((b) => [
        w.sender.send(b, 'application/json'),
        w.sender.send(b, 'application/json', { retryNum: 1, retryReason: 'http_error' }),
      ]);

      const statuses = (await Promise.all([...deliveries, ...pairDeliveries])).map((r) => r.status);
      expect(statuses.every((s) => s === 200)).toBe(true);
      await w.idle();

      expect(w.roundMessages('C1', root).map((m) => m.metadata?.event_payload.round)).toEqual([1, 2]);
      expect((await stateOf(w, 'C1', root))?.rounds).toHaveLength(2);
      for (const m of mentions) {
        expect(w.roundMessages('C2', m.ts)).toHaveLength(1);
        expect((await stateOf(w, 'C2', m.ts))?.rounds).toHaveLength(1);
      }
      expect(w.world.deps.generator.queries).toEqual(
        expect.arrayContaining([
          'a red circle',
          'a red circle; it is blue',
          'a green triangle',
          'a yellow star',
        ]),
      );
      expect(w.world.deps.generator.queries).toHaveLength(4);
    }),
  );

  it(
    'a message is acknowledged once it is stored in its thread inbox, without waiting for its round',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      await w.idle();
      const stored: string[] = [];
      const { engine } = w.world;
      const onMessage = engine.onMessage.bind(engine);
      engine.onMessage = async (msg, sink, hooks) => {
        // A store slower than the loopback network: an acknowledgement sent first would arrive first.
        await new Promise((r) => setTimeout(r, 100));
        return onMessage(msg, sink, {
          ...hooks,
          accepted: () => {
            stored.push(msg.text);
            hooks?.accepted?.();
          },
        });
      };
      // The round is held until the test lets it go: the acknowledgement must not wait for it.
      let release = () => {};
      w.world.deps.generator.gate = new Promise<void>((r) => {
        release = r;
      });
      const reply = w.fake.addPersonMessage('C1', PERSON, 'it is blue', root);
      const res = await w.sender.event({
        type: 'message',
        channel: 'C1',
        channel_type: 'channel',
        user: PERSON,
        text: 'it is blue',
        ts: reply.ts,
        thread_ts: root,
      });
      expect(res.status).toBe(200);
      expect(stored).toEqual(['it is blue']);
      release();
      await w.idle();
      expect(w.roundMessages('C1', root).map((m) => m.metadata?.event_payload.round)).toEqual([1, 2]);
    }),
  );

  it(
    'a 429 with Retry-After on chat.postMessage delays the round message; it is posted once, not lost',
    withWorld(
      async (w) => {
        const root = (await w.command('C1', 'a red circle')) as string;
        const limited: { seconds: number; url: string }[] = [];
        w.bot.app.client.on(webApi.WebClientEvent.RATE_LIMITED, (seconds: number, { url }: { url: string }) =>
          limited.push({ seconds, url }),
        );
        w.fake.failNext('chat.postMessage', 429, 1);
        await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
        await w.idle();

        expect(limited).toEqual([{ seconds: 1, url: expect.stringContaining('chat.postMessage') }]);
        const [refused, retried] = w.fake.callsOf('chat.postMessage').slice(-2) as [FakeCall, FakeCall];
        expect(refused.status).toBe(429);
        expect(retried.status).toBe(200);
        expect(retried.params.blocks).toBe(refused.params.blocks);
        expect(w.roundMessages('C1', root).map((m) => m.metadata?.event_payload.round)).toEqual([1, 2]);
      },
      { progress: false },
    ),
  );
});

describe('slack: pictures are processed asynchronously', () => {
  it(
    'a round’s controls are posted only once its pictures are shared; alt text goes as alt_txt',
    withWorld(async (w) => {
      w.fake.limits.processingMs = 300;
      const root = (await w.command('C1', 'a red circle')) as string;
      await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
      await w.press('C1', root, 'more', 2);
      await w.idle();
      const thread = w.botMessages('C1', root);
      const kinds = thread.map((m) => (m.files.length ? `files:${m.files.length}` : m.metadata?.event_type));
      expect(kinds).toEqual(['files:2', 'genir_round', 'files:2', 'genir_round', 'files:1', 'genir_round']);
      // Each picture message was shared (files.info polled until then) before its round was posted.
      expect(w.fake.callsOf('files.info').length).toBeGreaterThan(0);
      const [drawing, sheet] = (thread[0] as FakeMessage).files;
      expect(drawing?.alt).toBe('What I drew for: a red circle');
      expect(sheet?.alt).toMatch(/^Numbered matches: 1\. /);
      for (const c of w.fake.callsOf('files.getUploadURLExternal'))
        expect(c.params).not.toHaveProperty('alt_text');
    }),
  );
});

describe('slack: rate tiers', () => {
  it(
    'a 429 on a progress edit drops that edit; it does not hold up the round or other calls',
    withWorld(async (w) => {
      w.fake.failNext('chat.update', 429, 30);
      const root = (await w.command('C1', 'a red circle')) as string;
      await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
      await w.idle();
      const updates = w.fake.callsOf('chat.update');
      expect(updates[0]?.status).toBe(429);
      // Not retried: no later call carries the dropped edit's text.
      expect(updates.slice(1).filter((c) => c.params.text === updates[0]?.params.text)).toEqual([]);
      expect(w.roundMessages('C1', root).map((m) => m.metadata?.event_payload.round)).toEqual([1, 2]);
      expect(w.fake.messages.filter((m) => m.text.startsWith(':hourglass')).every((m) => m.deleted)).toBe(
        true,
      );
    }),
  );

  it(
    'chat.update / chat.delete stay within the Tier 3 budget: progress edits give way, rounds never do',
    withWorld(
      async (w) => {
        const root = (await w.command('C1', 'a red circle')) as string;
        for (const text of ['it is blue', 'it is small', 'at the top', 'on white']) {
          await w.say({ channel: 'C1', threadTs: root, text });
          await w.idle();
        }
        await w.idle();
        expect(w.roundMessages('C1', root)).toHaveLength(5);
        const calls = [...w.fake.callsOf('chat.update'), ...w.fake.callsOf('chat.delete')];
        expect(calls.filter((c) => c.status === 429)).toEqual([]);
        expect(w.fake.callsOf('chat.update').length).toBeLessThanOrEqual(5);
        expect(w.fake.messages.filter((m) => m.text.startsWith(':hourglass')).every((m) => m.deleted)).toBe(
          true,
        );
      },
      { tier3PerMinute: 5 },
    ),
  );
});

describe('slack: the bot’s own messages and lost membership', () => {
  it(
    'the bot’s own posts, file shares and edits echoed back as message events never reach the store',
    withWorld(async (w) => {
      const asked: string[] = [];
      const isForUs = w.world.engine.isForUs.bind(w.world.engine);
      w.world.engine.isForUs = (key, mentioned) => {
        asked.push(key);
        return isForUs(key, mentioned);
      };
      const root = (await w.command('C1', 'a red circle')) as string;
      await w.say({ channel: 'C1', threadTs: root, text: 'it is blue' });
      await w.idle();
      // Echoes of every kind came back: plain posts, the pictures' file_share, edits.
      expect(w.fake.messages.filter((m) => m.via !== 'person' && !m.ephemeralTo).length).toBeGreaterThan(6);
      expect(w.fake.callsOf('chat.update').length).toBeGreaterThan(0);
      // One look-up for the /genir root and one for the person's reply: none for the echoes.
      expect(asked).toHaveLength(2);
      expect(w.roundMessages('C1', root)).toHaveLength(2);
    }),
  );

  it(
    'a control pressed where the bot was removed: not_in_channel is told to the person through response_url',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a red circle')) as string;
      w.fake.removeBotFrom('C1');
      await w.press('C1', root, 'not');
      await w.idle();
      const told = w.fake.messages.filter((m) => m.via === 'response_url');
      expect(told.map((m) => m.ephemeralTo)).toEqual([PERSON]);
      expect(told[0]?.text).toContain('/invite @genir');
      expect(w.logs.some((l) => l.msg?.includes('cannot post in this conversation'))).toBe(true);
      // Only the one refused round post: no retry storm against a channel that refuses the bot.
      expect(w.fake.callsOf('chat.postMessage').filter((c) => c.params.blocks).length).toBe(1);
    }),
  );
});

describe('slack: safety', () => {
  it(
    'a description with <!channel>, <!here>, a user mention and & is posted escaped everywhere',
    withWorld(async (w) => {
      const bot = w.fake.identity.botUserId;
      // As Slack delivers an @channel / @user mention: raw markup in the event text.
      const ts = w.fake.addPersonMessage('C1', PERSON, 'x').ts;
      const event = {
        channel: 'C1',
        user: PERSON,
        ts,
        text: `<@${bot}> the <!channel> poster &amp; the <@U999> logo`,
      };
      await w.sender.event({ ...event, type: 'app_mention' });
      await w.sender.event({ ...event, type: 'message', channel_type: 'channel' });
      // As Slack delivers a literally typed "<!here>" in a slash command: entity-escaped.
      const root = (await w.command('C2', '<!here> & friends')) as string;
      await w.idle();

      const posted = [...w.botMessages('C1', ts), ...w.fake.topLevel('C2'), ...w.botMessages('C2', root)];
      const raw = JSON.stringify(posted.map((m) => [m.text, m.blocks]));
      for (const markup of ['<!channel>', '<!here>', '<@U999>']) expect(raw).not.toContain(markup);
      const round1 = visibleText(w.roundMessages('C1', ts)[0] as FakeMessage);
      expect(round1).toContain('the &lt;!channel&gt; poster &amp; the &lt;@U999&gt; logo');
      expect(w.fake.topLevel('C2')[0]?.text).toContain('&lt;!here&gt; &amp; friends');
      expect(visibleText(w.roundMessages('C2', root)[0] as FakeMessage)).toContain(
        '&lt;!here&gt; &amp; friends',
      );
    }),
  );

  it(
    'long descriptions are cut to the Block Kit limits (the fake Slack enforces them)',
    withWorld(async (w) => {
      const root = (await w.command('C1', 'a <&> circle '.repeat(160))) as string;
      await w.say({ channel: 'C1', threadTs: root, text: 'x& blue '.repeat(250) });
      await w.idle();
      const rounds = w.roundMessages('C1', root);
      expect(rounds).toHaveLength(2);
      for (const m of rounds) {
        expect(blockKitProblem(m.blocks ?? [])).toBeNull();
        const query = ((m.blocks ?? [])[0] as Block).text.text as string;
        expect(query.length).toBeLessThanOrEqual(3000);
        expect(query.endsWith('…')).toBe(true);
        expect(query).not.toMatch(/&[a-z]{0,3}…$/);
      }
    }),
  );

  it(
    'requests with a bad signature or a timestamp older than 5 minutes are refused',
    withWorld(async (w) => {
      const fields = redCircleCommand(w);

      const badSignature = await w.sender.send(w.sender.commandBody(fields), FORM, {
        signature: `v0=${'0'.repeat(64)}`,
      });
      const old = await w.sender.send(w.sender.commandBody(fields), FORM, {
        timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
      });
      const unsignedEvent = await w.sender.send(
        w.sender.eventBody({
          type: 'app_mention',
          channel: 'C1',
          user: PERSON,
          text: '<@UBOT> hi',
          ts: '1.000001',
        }),
        'application/json',
        { signature: 'v0=forged' },
      );
      expect([badSignature.status, old.status, unsignedEvent.status]).toEqual([401, 401, 401]);
      await w.idle();
      expect(w.fake.messages.filter((m) => m.via !== 'person')).toEqual([]);
      // The same request, correctly signed and fresh, is taken.
      expect((await w.sender.send(w.sender.commandBody(fields), FORM)).status).toBe(200);
      await w.idle();
      expect(w.fake.topLevel('C1')).toHaveLength(1);
    }),
  );
});

describe('slack: the HTTP endpoint under abuse', () => {
  const MB = 1024 * 1024;

  /**
   * POSTs an unsigned body of up to `bytes` in 64 kB chunks (chunked: no Content-Length), or only
   * declares `bytes` when `declareOnly`; stops sending as soon as the server answers.
   */
  async function flood(port: number, bytes: number, declareOnly = false) {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/slack/events',
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-slack-signature': 'v0=forged',
        ...(declareOnly ? { 'content-length': String(bytes) } : {}),
      },
    });
    req.on('error', () => {}); // the server hangs up on the rest of the body
    let status: number | undefined;
    const answered = new Promise<void>((resolve) =>
      req.on('response', (res) => {
        status = res.statusCode;
        res.resume();
        resolve();
      }),
    );
    let sent = 0;
    let finished = false;
    if (declareOnly) req.flushHeaders();
    else {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      while (status === undefined && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) await Promise.race([once(req, 'drain'), answered]);
      }
      if (status === undefined) {
        req.end();
        finished = true;
      }
    }
    await answered;
    req.destroy();
    return { status, sent, finished };
  }

  it(
    'a 200 MB unsigned body is refused with 413 before it is all sent, and never buffered',
    withWorld(async (w) => {
      const port = w.bot.port as number;
      const before = process.memoryUsage().rss;
      const streamed = await flood(port, 200 * MB);
      expect(streamed.status).toBe(413);
      expect(streamed.finished).toBe(false);
      expect(streamed.sent).toBeLessThan(200 * MB);
      const declared = await flood(port, 200 * MB, true);
      expect(declared).toMatchObject({ status: 413, sent: 0 });
      // Far less than the body: the server read at most the 1 MB cap (plus what was in flight).
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * MB);
      // The endpoint still takes Slack's requests.
      expect(await w.command('C1', 'a red circle')).toBeDefined();
    }),
  );

  it(
    'a correctly signed request stamped more than 5 minutes in the future is refused, like an old one',
    withWorld(async (w) => {
      const fields = redCircleCommand(w);

      const now = Math.floor(Date.now() / 1000);
      const future = await w.sender.send(w.sender.commandBody(fields), FORM, { timestamp: now + 6 * 60 });
      const past = await w.sender.send(w.sender.commandBody(fields), FORM, { timestamp: now - 6 * 60 });
      expect([future.status, past.status]).toEqual([401, 401]);
      await w.idle();
      expect(w.fake.messages).toEqual([]);
      const nearFuture = await w.sender.send(w.sender.commandBody(fields), FORM, { timestamp: now + 60 });
      expect(nearFuture.status).toBe(200);
    }),
  );
});

describe('slack: Socket Mode', () => {
  it(
    'connects through apps.connections.open, acks envelopes, and runs a search; a redelivered event is one round',
    withWorld(
      async (w) => {
        await w.fake.socketConnected;
        const ack = await w.fake.sendSocket({
          type: 'slash_commands',
          payload: {
            token: 'legacy',
            team_id: w.fake.identity.teamId,
            channel_id: 'C1',
            user_id: PERSON,
            command: '/genir',
            text: 'a red circle',
            api_app_id: w.fake.identity.appId,
            response_url: w.fake.responseUrl('C1', PERSON),
            trigger_id: 'trigger-1',
          },
        });
        expect(ack).toEqual({});
        await w.idle();
        const root = w.fake.topLevel('C1')[0]?.ts as string;
        expect(w.roundMessages('C1', root)).toHaveLength(1);

        const reply = w.fake.addPersonMessage('C1', PERSON, 'it is blue', root);
        const envelope = JSON.parse(
          w.sender.eventBody(
            {
              type: 'message',
              channel: 'C1',
              channel_type: 'channel',
              user: PERSON,
              text: 'it is blue',
              ts: reply.ts,
              thread_ts: root,
            },
            'EvSOCKET',
          ),
        );
        await w.fake.sendSocket({ type: 'events_api', payload: envelope });
        await w.fake.sendSocket({
          type: 'events_api',
          payload: envelope,
          retryAttempt: 1,
          retryReason: 'timeout',
        });
        await w.idle();
        expect(w.bot.mode).toBe('socket');
        expect(w.roundMessages('C1', root).map((m) => m.metadata?.event_payload.round)).toEqual([1, 2]);
      },
      { socket: true },
    ),
  );
});

describe('slack: Socket Mode connections', () => {
  const reply = (w: SlackWorld, root: string, text: string, eventId: string) => {
    const m = w.fake.addPersonMessage('C1', PERSON, text, root);
    const body = {
      type: 'message',
      channel: 'C1',
      channel_type: 'channel',
      user: PERSON,
      text,
      ts: m.ts,
      thread_ts: root,
    };
    return JSON.parse(w.sender.eventBody(body, eventId));
  };

  /** `/genir <text>` in C1 over the socket; returns the root message's ts. */
  const start = async (w: SlackWorld, text: string): Promise<string> => {
    await w.fake.socketConnected;
    await w.fake.sendSocket({
      type: 'slash_commands',
      payload: {
        team_id: w.fake.identity.teamId,
        channel_id: 'C1',
        user_id: PERSON,
        command: '/genir',
        text,
        api_app_id: w.fake.identity.appId,
        response_url: w.fake.responseUrl('C1', PERSON),
        trigger_id: `trigger-${text}`,
      },
    });
    await w.idle();
    return w.fake.topLevel('C1')[0]?.ts as string;
  };

  it(
    'a disconnect (refresh_requested) is followed by a new connection; an event sent meanwhile is not lost',
    withWorld(
      async (w) => {
        const root = await start(w, 'a red circle');
        w.fake.sendDisconnect('refresh_requested');
        // Held by Slack until the new connection is open.
        const ack = await w.fake.sendSocket({
          type: 'events_api',
          payload: reply(w, root, 'it is blue', 'EvAFTER'),
        });
        expect(ack).toEqual({});
        await w.idle();
        expect(w.fake.callsOf('apps.connections.open')).toHaveLength(2);
        expect(w.roundMessages('C1', root).map((m) => m.metadata?.event_payload.round)).toEqual([1, 2]);
      },
      { socket: true },
    ),
  );

  it(
    'an envelope whose ack was lost is redelivered (retry_attempt 1) and handled once',
    withWorld(
      async (w) => {
        w.fake.limits.socketAckTimeoutMs = 300;
        const root = await start(w, 'a red circle');
        w.fake.loseAcks = 1;
        const payload = reply(w, root, 'it is blue', 'EvLOST');
        const before = w.fake.socketDeliveries.length;
        await w.fake.sendSocket({ type: 'events_api', payload });
        await w.idle();
        const mine = w.fake.socketDeliveries.slice(before).filter((d, _, all) => d.id === all[0]?.id);
        expect(mine.map((d) => d.attempt)).toEqual([0, 1]);
        expect(w.roundMessages('C1', root).map((m) => m.metadata?.event_payload.round)).toEqual([1, 2]);
        expect((await stateOf(w, 'C1', root))?.rounds).toHaveLength(2);
      },
      { socket: true },
    ),
  );
});

describe('slack: configuration', () => {
  it('refuses a bot token without an app token or a signing secret, naming both', () => {
    const load = () => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' }, { dotenv: false });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/SLACK_APP_TOKEN.*SLACK_SIGNING_SECRET/);
  });

  it('SLACK_FILE_ORIGINS: exact origins over https only (the token is sent there)', () => {
    const load = (v: string) => loadConfig({ SLACK_FILE_ORIGINS: v }, { dotenv: false });
    expect(load('https://files.slack.com, https://files-edge.slack.com').SLACK_FILE_ORIGINS).toEqual([
      'https://files.slack.com',
      'https://files-edge.slack.com',
    ]);
    expect(() => load('http://files.slack.com')).toThrow(/SLACK_FILE_ORIGINS.*https/);
    expect(() => load('https://files.slack.com/path')).toThrow(/SLACK_FILE_ORIGINS.*origin only/);
    expect(loadConfig({}, { dotenv: false }).SLACK_FILE_ORIGINS).toEqual(['https://files.slack.com']);
  });

  it('says which token Slack refused', async () => {
    const fake = await FakeSlack.start();
    try {
      const { engine } = await engineWorld();
      const logger = { info() {}, warn() {}, error() {} };
      const startSlack = async (engine: ChatEngine, config: Config) =>
        (await createSlackFrontEnd({ engine, config, logger })).start();
      const base = { SLACK_API_URL: fake.apiUrl, SLACK_PORT: '0' };
      const badBot = loadConfig(
        { ...base, SLACK_BOT_TOKEN: 'xoxb-wrong', SLACK_SIGNING_SECRET: 'secret-123' },
        { dotenv: false },
      );
      await expect(startSlack(engine, badBot)).rejects.toThrow(/SLACK_BOT_TOKEN.*invalid_auth/);
      const badApp = loadConfig(
        { ...base, SLACK_BOT_TOKEN: fake.identity.botToken, SLACK_APP_TOKEN: 'xapp-wrong' },
        { dotenv: false },
      );
      await expect(startSlack(engine, badApp)).rejects.toThrow(/SLACK_APP_TOKEN.*invalid_auth/);
      // Neither error shows a token.
      await startSlack(engine, badBot).catch((err: Error) => expect(err.message).not.toContain('xoxb-wrong'));
    } finally {
      await fake.close();
    }
  });

  it('the app manifest declares the command, events, scopes and interactivity the adapter relies on', async () => {
    const manifest = await readFile(new URL('../../../slack-manifest.yaml', import.meta.url), 'utf8');
    expect(manifest).toMatch(/- command: \/genir\n/);
    for (const event of ['app_mention', 'message.channels', 'message.groups', 'message.im', 'message.mpim']) {
      expect(manifest).toMatch(new RegExp(`\\n\\s+- ${event.replace('.', '\\.')}\\n`));
    }
    for (const scope of [
      'app_mentions:read',
      'channels:history',
      'im:history',
      'chat:write',
      'commands',
      'files:write',
      'files:read',
    ]) {
      expect(manifest).toMatch(new RegExp(`\\n\\s+- ${scope}\\n`));
    }
    expect(manifest).toMatch(/interactivity:\n\s+is_enabled: true/);
    expect(manifest).toMatch(/socket_mode_enabled: true/);
  });

  it('the file-download allow-list takes https origins only (loopback allowed for fakes)', () => {
    expect(checkFileOrigins(['https://files.slack.com', 'http://127.0.0.1:4000'])).toHaveLength(2);
    expect(() => checkFileOrigins(['http://files.slack.com'])).toThrow(/must use https/);
    expect(() => checkFileOrigins(['https://files.slack.com/path'])).toThrow(/origin only/);
    expect(() => checkFileOrigins(['files.slack.com'])).toThrow(/not a URL/);
  });

  it('names the variable when a token has the wrong kind', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xapp-not-a-bot-token' }, { dotenv: false })).toThrow(
      /SLACK_BOT_TOKEN/,
    );
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xoxb-not-an-app-token' }, { dotenv: false })).toThrow(
      /SLACK_APP_TOKEN/,
    );
    expect(loadConfig({}, { dotenv: false }).SLACK_PORT).toBe(3001);
  });
});

describe('slack: text and ids', () => {
  const view = (over: Partial<RoundView> = {}): RoundView => ({
    threadKey: 'slack:T:C:1.2',
    roundId: 'r1',
    roundNumber: 1,
    query: 'q',
    syntheticPng: Buffer.alloc(1),
    contactSheetPng: Buffer.alloc(1),
    tiles: Array.from({ length: 25 }, (_, i) => ({
      n: i + 1,
      assetId: `a${i}`,
      title: `${'long title '.repeat(20)}${i}`,
      score: 0.5,
    })),
    notes: ['n'.repeat(5000)],
    actions: {
      pick: Array.from({ length: 25 }, (_, i) => `genir:pick:r1:${i + 1}`),
      moreLike: Array.from({ length: 25 }, (_, i) => `genir:more:r1:${i + 1}`),
      notThese: 'genir:not:r1:',
      regenerate: 'genir:regen:r1:',
      undo: 'genir:undo:r1:',
      newSearch: 'genir:reset:r1:',
    },
    ...over,
  });

  it('round blocks stay within every Block Kit limit, whatever the text', () => {
    const blocks = roundBlocks(
      view({ query: '<&>'.repeat(2000), interpretation: '&'.repeat(4000) }),
    ) as Block[];
    expect(blockKitProblem(blocks)).toBeNull();
    const options = blocks.find((b) => b.type === 'actions')?.elements[0].options as Block[];
    expect(options).toHaveLength(25);
    expect(options[24]?.text.text.length).toBeLessThanOrEqual(75);
    expect(options[24]?.text.text.endsWith('…')).toBe(true);
  });

  it('shows the keep button when the round offers it', () => {
    const v = view();
    const blocks = roundBlocks({ ...v, actions: { ...v.actions, keep: 'genir:keep:r1:' } }) as Block[];
    const labels = blocks.find((b) => b.type === 'actions')?.elements.map((e: Block) => e.text?.text);
    expect(labels).toContain('Keep this search for research');
  });

  it('puts the research notice in a context block right above the controls, naming the slash command', () => {
    const v = view({
      consentNotice: 'Research: kept only if you press "Keep". <!here> & /forget deletes your data.',
      actions: { ...view().actions, keep: 'genir:keep:r1:' },
    });
    const blocks = roundBlocks(v, '/findpic') as Block[];
    expect(blockKitProblem(blocks)).toBeNull();
    const i = blocks.findIndex((b) => b.block_id === 'genir-research');
    expect(blocks[i]?.type).toBe('context');
    expect(blocks[i + 1]?.type).toBe('actions');
    expect(blocks[i]?.elements[0].text).toBe(
      ':microscope: Research: kept only if you press "Keep". &lt;!here&gt; &amp; `/findpic forget` deletes your data.',
    );
    expect(roundBlocks(view()).some((b) => b.block_id === 'genir-research')).toBe(false);
    expect(slackCommands('/forget, or /genir/forget', '/genir')).toBe('`/genir forget`, or /genir/forget');
  });

  it('escapes, unescapes and cuts without breaking entities or surrogate pairs', () => {
    expect(escapeMrkdwn('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    expect(unescapeSlack('&lt;b&gt; &amp;amp;')).toBe('<b> &amp;');
    expect(clip('&amp;&amp;&amp;', 8)).toBe('&amp;…');
    expect(clip('😀😀😀', 4)).toBe('😀…');
    expect(clip('short', 10)).toBe('short');
  });

  it('sets the help table of a notice in a code block, escaped', () => {
    const text = noticeMrkdwn(
      'Unknown command "/x".\nUse:\n  /find <description>   Start\n  /pick <n>   Pick',
      'warn',
    );
    expect(text).toBe(
      ':warning: Unknown command "/x".\nUse:\n```/find &lt;description&gt;   Start\n/pick &lt;n&gt;   Pick```',
    );
  });

  it('the round gate runs at most N at once, in arrival order, and starts at once when free', async () => {
    const gate = new Gate(2);
    const started: number[] = [];
    const holds = [0, 1, 2, 3].map(() => {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      return { promise, resolve };
    });
    const tasks = holds.map((h, i) =>
      gate.run(async () => {
        started.push(i);
        await h.promise;
        return i;
      }),
    );
    expect(started).toEqual([0, 1]);
    holds[1]?.resolve();
    await tasks[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    for (const h of holds) h.resolve();
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('thread ids round-trip through the shared key codec', () => {
    const key = encodeThreadId('T1', 'C1', '1700000000.000100');
    expect(key).toBe('slack:T1:C1:1700000000.000100');
    expect(decodeThreadId(key)).toEqual({ team: 'T1', channel: 'C1', threadTs: '1700000000.000100' });
    expect(() => decodeThreadId('discord:g:c:t')).toThrow();
  });
});
