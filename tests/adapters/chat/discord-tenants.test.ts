/**
 * Discord guilds as tenants, against the fake: the bot learns of joins and removals from the
 * gateway, refuses events naming a guild it is not in, and takes Manage Server as admin there.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Events, PermissionFlagsBits, SnowflakeUtil } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { TenantEvents } from '../../../core/ports.ts';
import { worldPerTest } from '../../fakes/discord/harness.ts';

const world = worldPerTest();

function recordingTenants() {
  const events: string[] = [];
  const tenants: TenantEvents = {
    joined: async (t) => void events.push(`joined ${t}`),
    left: async (t) => void events.push(`left ${t}`),
  };
  return { events, tenants };
}

describe('discord guilds as tenants', () => {
  it('reports the guild joined at connect and left when it removes the bot; after that its events are refused', async () => {
    const { events, tenants } = recordingTenants();
    const w = await world({ adapter: { tenants } });
    const { fake } = w;
    const tenant = `discord:${fake.guildId}`;
    expect(events).toEqual([`joined ${tenant}`]);
    const removed = new Promise((resolve) => w.adapter.client.once(Events.GuildDelete, resolve));
    await fake.removeBot();
    await removed;
    await w.adapter.idle();
    expect(events).toEqual([`joined ${tenant}`, `left ${tenant}`]);

    const id = await fake.runSlash({
      channelId: fake.channels.general,
      name: 'find',
      options: { description: 'a red circle' },
    });
    await w.settle(id);
    expect(fake.interaction(id)).toMatchObject({ callbacks: [4], ephemeral: true });
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(0);

    const back = new Promise((resolve) => w.adapter.client.once(Events.GuildCreate, resolve));
    await fake.addBot();
    await back;
    await w.adapter.idle();
    expect(events.at(-1)).toBe(`joined ${tenant}`);
    await w.find('a red circle');
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(1);
  });

  it('refuses an interaction naming a guild the bot is not in, and starts nothing', async () => {
    const w = await world();
    const { fake } = w;
    const fixture = JSON.parse(
      readFileSync(
        new URL('../../fixtures/discord/interaction-application-command.json', import.meta.url),
        'utf8',
      ),
    ) as { t: string; d: Record<string, unknown> };
    const d = await fake.replay(fixture, {
      application_id: fake.applicationId,
      guild_id: SnowflakeUtil.generate().toString(),
      channel_id: fake.channels.general,
      user_id: fake.people.alice.id,
      interaction_id: SnowflakeUtil.generate().toString(),
      token: randomBytes(24).toString('base64url'),
    });
    await w.settle(String(d.id));
    expect(fake.interaction(String(d.id))).toMatchObject({ callbacks: [4], ephemeral: true });
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(0);
  });

  it('a member with Manage Server is an admin of that guild; others are not', async () => {
    const admin = { status: async (t: string) => `status of ${t}`, export: async () => 'exported' };
    const w = await world({ engine: { admin } });
    const { fake } = w;
    const { SendMessages, SendMessagesInThreads, ManageGuild } = PermissionFlagsBits;
    fake.setMemberPermissions(fake.people.bob.id, SendMessages | SendMessagesInThreads);
    fake.setMemberPermissions(fake.people.alice.id, SendMessages | SendMessagesInThreads | ManageGuild);
    const thread = await w.find('a red circle');
    const status = async (user: (typeof fake.people)['bob']) => {
      await w.settle(await fake.runSlash({ channelId: thread, name: 'genir', subcommand: 'status', user }));
      return fake.postsIn(thread).at(-1)?.content;
    };
    expect(await status(fake.people.bob)).toContain('/status is for admins of this workspace only.');
    expect(await status(fake.people.alice)).toContain(`status of discord:${fake.guildId}`);
  });
});
