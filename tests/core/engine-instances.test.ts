/**
 * Several engines (bot instances) on one PostgreSQL store: every message is answered once, in
 * arrival order, whichever instance took it in; duplicate deliveries count once; a thread whose
 * messages were left behind is taken up by another instance.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openPostgresStores, type PostgresStores } from '../../adapters/store/postgres/index.ts';
import { ConversationEngine } from '../../core/engine.ts';
import type { InboundMessage } from '../../core/types.ts';
import { engineWorld, RecordingSink } from '../support/engine-world.ts';
import { resetDatabase, skipReason, testDatabase } from '../support/postgres.ts';

const database = await testDatabase();
afterAll(() => database?.drop());

async function instances(n: number) {
  const url = database?.url as string;
  await resetDatabase(url);
  const world = await engineWorld();
  const opened: PostgresStores[] = [];
  const engines: ConversationEngine[] = [];
  for (let i = 0; i < n; i++) {
    const pg = await openPostgresStores(url, { leaseMs: 5000 });
    opened.push(pg);
    const { threads, transcripts, images, locks, inbox, rates } = pg;
    engines.push(
      new ConversationEngine(
        { ...world.deps, threads, transcripts, images, locks, inbox, rates },
        { roundsPerUserPerMinute: 0, roundsPerWorkspacePerMinute: 0 },
      ),
    );
  }
  const close = async () => {
    await Promise.all(engines.map((e) => e.idle()));
    await Promise.all(opened.map((s) => s.db.close()));
  };
  return { world, engines, stores: opened[0] as PostgresStores, close };
}

describe.skipIf(!database)(
  `several instances on one PostgreSQL${skipReason ? ` (${skipReason})` : ''}`,
  () => {
    it('answers every message once, in arrival order, whichever instance took it in; repeats count once', async () => {
      const { engines, stores, close } = await instances(3);
      const threads = ['slack:T1:C1:1.1', 'slack:T1:C1:2.2', 'slack:T1:C1:3.3'];
      const sinks = threads.map(() => new RecordingSink());
      const handled: Promise<void>[] = [];
      const sent = new Map<string, string[]>(threads.map((k) => [k, []]));
      for (let i = 0; i < 6; i++) {
        for (const [t, key] of threads.entries()) {
          const msg: InboundMessage = { key, eventId: `ev-${t}-${i}`, userId: 'u1', text: `m${i} of ${t}` };
          sent.get(key)?.push(msg.text);
          // Each event reaches every instance (a platform retrying), all at once.
          for (const engine of engines) handled.push(engine.onMessage(msg, sinks[t] as RecordingSink));
          // The next message of the thread is sent once this one was accepted somewhere.
          await vi.waitFor(async () => {
            const waiting = (await stores.inbox.pending(key)).map((e) => e.message.text);
            const answered = ((await stores.threads.load(key))?.rounds ?? []).flatMap((r) =>
              r.userText.split('\n'),
            );
            expect([...waiting, ...answered]).toContain(msg.text);
          });
        }
      }
      await Promise.all(handled);
      let rounds = 0;
      for (const key of threads) {
        const state = await stores.threads.load(key);
        const words = (state?.rounds ?? []).flatMap((r) => r.userText.split('\n'));
        expect(words).toEqual(sent.get(key));
        rounds += state?.rounds.length ?? 0;
        expect(await stores.inbox.pending(key)).toEqual([]);
        expect(await stores.locks.held(key)).toBe(false);
      }
      // One picture per saved round: nothing drawn for a round that was not saved is left behind.
      const { rows } = await stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM round_images');
      expect(rows[0]?.n).toBe(rounds);
      await close();
    });

    it('says a message is accepted only once it is in the shared inbox, and only the first delivery', async () => {
      const { engines, stores, close } = await instances(2);
      const key = 'slack:T1:C1:5.5';
      const msg: InboundMessage = { key, eventId: 'ev-accepted', userId: 'u1', text: 'a red circle' };
      const inInboxWhenAccepted: string[][] = [];
      const accepted = async (engine: ConversationEngine) => {
        let seen: Promise<string[]> | null = null;
        const handled = engine.onMessage(msg, new RecordingSink(), {
          accepted: () => {
            seen = stores.inbox.pending(key).then((entries) => entries.map((e) => e.message.eventId));
          },
        });
        await handled;
        if (seen) inInboxWhenAccepted.push(await seen);
      };
      await accepted(engines[0] as ConversationEngine);
      // A retry reaching another instance is a duplicate: nothing to acknowledge after storing.
      await accepted(engines[1] as ConversationEngine);
      expect(inInboxWhenAccepted).toHaveLength(1);
      expect(inInboxWhenAccepted[0]).toContain('ev-accepted');
      await close();
    });

    it('takes up a thread whose messages another instance accepted and left behind', async () => {
      const { engines, stores, close } = await instances(2);
      const key = 'slack:T1:C1:9.9';
      // Accepted by an instance that died before answering: claimed and in the inbox, nothing else.
      await stores.threads.claimOnce('msg:ev-orphan', 60_000);
      await stores.inbox.push({ key, eventId: 'ev-orphan', userId: 'u1', text: 'a red circle' });
      const sink = new RecordingSink();
      const survivor = engines[1] as ConversationEngine;
      expect(await survivor.adoptWaiting(0, (k) => (k === key ? sink : null))).toBe(1);
      await survivor.idle();
      expect(sink.rounds()).toHaveLength(1);
      expect((await stores.threads.load(key))?.rounds[0]?.userText).toBe('a red circle');
      expect(await stores.inbox.pending(key)).toEqual([]);
      await close();
    });
  },
);
