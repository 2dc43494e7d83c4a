/**
 * Slack's requests as documented (tests/fixtures/slack), signed and replayed through the real
 * adapter against the fake Slack: a slash command, a mention, a reply in its thread with a
 * picture, then a select and a button on the round message.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { encodeThreadId } from '../../../adapters/chat/slack/thread-id.ts';
import { PERSON, slackWorld, visibleText } from '../../fakes/slack/world.ts';

const fixture = (name: string) => readFile(new URL(`../../fixtures/slack/${name}`, import.meta.url), 'utf8');
const FORM = 'application/x-www-form-urlencoded';

it('replays the documented payloads: command, app_mention, threaded file_share, static_select, button', async () => {
  const w = await slackWorld();
  try {
    // A slash command, its form body as Slack sends it; the answer URL points at the fake.
    const form = new URLSearchParams(await fixture('slash_command.form'));
    form.set('response_url', w.fake.responseUrl(String(form.get('channel_id')), PERSON));
    expect((await w.sender.send(form.toString(), FORM)).status).toBe(200);
    await w.idle();
    const [root] = w.fake.topLevel('C0FIXCMD');
    expect(root?.text).toContain('a green triangle &lt;big&gt;');
    expect(w.roundMessages('C0FIXCMD', root?.ts)).toHaveLength(1);

    // app_mention, byte for byte.
    const mention = await fixture('app_mention.json');
    expect((await w.sender.send(mention, 'application/json')).status).toBe(200);
    await w.idle();
    const threadTs = '1700000100.000100';
    const key = encodeThreadId('T0FAKE', 'C0FIXTURE', threadTs);
    expect((await w.world.engine.thread(key))?.rounds.map((r) => r.userText)).toEqual([
      'a red circle at the top left & a blue square',
    ]);

    // A reply in that thread sharing a picture: its URLs point at the fake's file server.
    const reply = JSON.parse(await fixture('message_in_thread_with_files.json'));
    const bytes = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c03' } })
      .png()
      .toBuffer();
    const hosted = w.fake.hostFile('photo.png', 'image/png', bytes);
    Object.assign(reply.event.files[0], {
      id: hosted.id,
      size: bytes.length,
      url_private: hosted.url_private,
      url_private_download: hosted.url_private_download,
    });
    expect((await w.sender.send(JSON.stringify(reply), 'application/json')).status).toBe(200);
    await w.idle();
    expect((await w.world.engine.thread(key))?.rounds.map((r) => r.cause)).toEqual(['find', 'image']);

    // The controls of the latest round: a select, then a button.
    const press = async (name: string) => {
      const state = await w.world.engine.thread(key);
      const round = w.roundMessages('C0FIXTURE', threadTs).at(-1);
      const text = (await fixture(name)).replaceAll('ROUND_ID', String(state?.rounds.at(-1)?.id));
      const payload = JSON.parse(text);
      payload.container.message_ts = round?.ts;
      payload.message.ts = round?.ts;
      payload.response_url = w.fake.responseUrl('C0FIXTURE', PERSON);
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      expect((await w.sender.send(body, FORM)).status).toBe(200);
      await w.idle();
    };
    await press('block_actions_static_select.json');
    expect((await w.world.engine.thread(key))?.rounds.map((r) => r.cause)).toEqual([
      'find',
      'image',
      'more-like',
    ]);
    await press('block_actions_button.json');
    expect((await w.world.engine.thread(key))?.rounds.map((r) => r.cause)).toEqual(['find', 'image']);
    const said = w.botMessages('C0FIXTURE', threadTs).map(visibleText);
    expect(said.filter((t) => t.includes('Removed round 3'))).toHaveLength(1);
  } finally {
    await w.close();
  }
});
