/**
 * The store ports' contract, run against every store kind (SQLite with the in-process lock, inbox
 * and rate windows; PostgreSQL with its own): what the engine relies on, whatever is underneath.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WritableGallery } from '../../adapters/store/asset-file.ts';
import type {
  GalleryBindingStore,
  RateWindows,
  RoundImageStore,
  TenantStore,
  ThreadInbox,
  ThreadLocks,
  ThreadStore,
  TranscriptRecord,
  TranscriptStore,
} from '../../core/ports.ts';
import type { InboundMessage, Round, ThreadState } from '../../core/types.ts';

export interface StoresUnderTest {
  threads: ThreadStore & { purgeExpired(): number | Promise<number> };
  transcripts: TranscriptStore;
  gallery: WritableGallery;
  images: RoundImageStore;
  rates: RateWindows;
  inbox: ThreadInbox;
  locks: ThreadLocks;
  bindings: GalleryBindingStore;
  tenants: TenantStore;
  close(): Promise<void>;
}

export interface StoreHarness {
  /** Fresh, empty stores on the clock `now`, reading relative gallery paths under `root`. */
  open(options: { now: () => number; root: string }): Promise<StoresUnderTest>;
  /** A temp directory, removed after each test. */
  tempDir(): string;
}

export const KEY = 'discord:g1:c1:t1';

export function round(index: number, overrides: Partial<Round> = {}): Round {
  return {
    id: `r${index}`,
    index,
    cause: index === 0 ? 'find' : 'refine',
    userText: `message ${index}`,
    query: `query ${index}`,
    generated: { generatorId: 'sketch', seed: 7, image: `x/r${index}.png` },
    baseVector: [0.25, -0.5, 1e-7, 0.125],
    encoderId: 'tiny',
    matches: [{ assetId: 'a1', score: 0.9 }],
    feedback: [],
    notes: [],
    timings: { generate: 12 },
    userId: 'u1',
    createdAt: 1000 + index,
    ...overrides,
  };
}

export function newState(key = KEY): ThreadState {
  return { key, status: 'active', rounds: [], version: 0, createdAt: 1000, updatedAt: 1000 };
}

export function record(
  threadKey: string,
  roundIndex: number,
  createdAt: number,
  label: 0 | 1 = 0,
): TranscriptRecord {
  return {
    threadKey,
    roundId: `r${roundIndex}`,
    roundIndex,
    userHash: 'h',
    message: `m${roundIndex}`,
    query: `q${roundIndex}`,
    generatorId: 'sketch',
    seed: 1,
    syntheticImage: `t/r${roundIndex}.png`,
    encoderId: 'tiny',
    retrieved: [{ assetId: 'a1', score: 0.5 }],
    feedback: [],
    label,
    timings: {},
    createdAt,
  };
}

const message = (text: string, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  key: KEY,
  eventId: `ev-${text}`,
  userId: 'u1',
  text,
  ...extra,
});

export function storeContract(name: string, harness: StoreHarness): void {
  describe(`${name} store contract`, () => {
    let now = 1_000_000;
    let s: StoresUnderTest;
    let root: string;
    beforeEach(async () => {
      now = 1_000_000;
      root = harness.tempDir();
      s = await harness.open({ now: () => now, root });
    });
    afterEach(() => s.close());

    describe('threads', () => {
      it('saves with compare-and-set: of two saves with the same expected version exactly one wins', async () => {
        const { threads } = s;
        const a = newState();
        const b = newState();
        const results = await Promise.all([threads.save(a, 0), threads.save(b, 0)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect([a.version, b.version].sort()).toEqual([0, 1]);

        const loaded = (await threads.load(KEY))!;
        expect(loaded.version).toBe(1);
        const first = structuredClone(loaded);
        const second = structuredClone(loaded);
        first.rounds.push(round(0));
        second.rounds.push(round(0, { query: 'other' }));
        const [ok1, ok2] = await Promise.all([threads.save(first, 1), threads.save(second, 1)]);
        expect([ok1, ok2].filter(Boolean)).toHaveLength(1);
        const winner = ok1 ? first : second;
        const stored = (await threads.load(KEY))!;
        expect(stored.version).toBe(2);
        expect(stored.rounds[0]?.query).toBe(winner.rounds[0]?.query);
      });

      it('keeps a state exactly as saved (rounds, vectors, feedback, found)', async () => {
        const state = newState();
        state.rounds.push(round(0), round(1, { feedback: [{ kind: 'picked', assetIds: ['a1'], at: 5 }] }));
        state.status = 'found';
        state.found = { assetId: 'a1', roundId: 'r1', userId: 'u1' };
        state.inboxAnswered = [3, 4];
        expect(await s.threads.save(state, 0)).toBe(true);
        const loaded = await s.threads.load(KEY);
        expect(loaded).toEqual({ ...state, version: 1 });
        expect(loaded?.rounds[0]?.baseVector).toEqual([0.25, -0.5, 1e-7, 0.125]);
      });

      it('rejects a stale or unknown expected version', async () => {
        const { threads } = s;
        const st = newState();
        expect(await threads.save(st, 0)).toBe(true);
        expect(await threads.save(st, 1)).toBe(true);
        expect(await threads.save(st, 1)).toBe(false);
        expect(await threads.save(st, 5)).toBe(false);
        expect(await threads.save(newState('slack:T:C:1.2'), 3)).toBe(false);
        expect(await threads.load('slack:T:C:1.2')).toBeNull();
        expect((await threads.load(KEY))?.version).toBe(2);
      });

      it('forgets every thread a person started in one tenant and no other', async () => {
        const { threads } = s;
        await threads.save({ ...newState('web:a'), ownerId: 'u1' }, 0);
        await threads.save({ ...newState('web:b'), ownerId: 'u2' }, 0);
        await threads.save({ ...newState('web:c'), ownerId: 'u1' }, 0);
        // The same platform user id in another workspace is another person.
        await threads.save({ ...newState('slack:T2:C:1.1'), ownerId: 'u1' }, 0);
        expect((await threads.forgetOwner('u1', 'local')).sort()).toEqual(['web:a', 'web:c']);
        expect(await threads.load('web:a')).toBeNull();
        expect(await threads.load('web:b')).not.toBeNull();
        expect(await threads.load('slack:T2:C:1.1')).not.toBeNull();
        expect(await threads.forgetOwner('u1', 'local')).toEqual([]);
        expect(await threads.forgetOwner('u1', 'slack:T2')).toEqual(['slack:T2:C:1.1']);
      });

      it('forgets every thread of a tenant and no other', async () => {
        const { threads } = s;
        await threads.save(newState('slack:T1:C:1.1'), 0);
        await threads.save(newState('slack:T1:D:2.2'), 0);
        await threads.save(newState('slack:T10:C:1.1'), 0);
        await threads.save(newState('discord:1:2:3'), 0);
        expect((await threads.forgetTenant('slack:T1')).sort()).toEqual(['slack:T1:C:1.1', 'slack:T1:D:2.2']);
        expect(await threads.load('slack:T10:C:1.1')).not.toBeNull();
        expect(await threads.load('discord:1:2:3')).not.toBeNull();
      });

      it('deletes a thread', async () => {
        await s.threads.save(newState(), 0);
        await s.threads.delete(KEY);
        expect(await s.threads.load(KEY)).toBeNull();
        expect(await s.threads.save(newState(), 0)).toBe(true);
      });

      it('lists keys by prefix, most recently updated first', async () => {
        for (const [key, at] of [
          ['web:a', 1],
          ['web:b', 3],
          ['webx:c', 4],
          ['slack:T:C:1', 5],
          ['web:c', 2],
        ] as const) {
          now = at;
          await s.threads.save(newState(key), 0);
        }
        expect(await s.threads.listKeys('web:', 10)).toEqual(['web:b', 'web:c', 'web:a']);
        expect(await s.threads.listKeys('web:', 2)).toEqual(['web:b', 'web:c']);
        expect(await s.threads.listKeys('discord:', 10)).toEqual([]);
      });

      it('claims a dedupe key once within its ttl and again after it expires', async () => {
        const { threads } = s;
        expect(await threads.claimOnce('slack:Ev1', 50)).toBe(true);
        expect(await threads.claimOnce('slack:Ev1', 50)).toBe(false);
        expect(await threads.claimOnce('slack:Ev2', 50)).toBe(true);
        now += 49;
        expect(await threads.claimOnce('slack:Ev1', 50)).toBe(false);
        now += 1;
        expect(await threads.claimOnce('slack:Ev1', 50)).toBe(true);
        expect(await threads.claimOnce('slack:Ev1', 50)).toBe(false);
        now += 1000;
        expect(await threads.purgeExpired()).toBe(2);
        expect(await threads.claimOnce('slack:Ev2', 50)).toBe(true);
      });

      it('lets exactly one of many concurrent claims of one key win', async () => {
        const wins = await Promise.all(
          Array.from({ length: 20 }, () => s.threads.claimOnce('ev-race', 60_000)),
        );
        expect(wins.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('gallery bindings', () => {
      it("answers a channel's binding before its tenant's, and never another tenant's", async () => {
        const { bindings } = s;
        await bindings.bind({ tenant: 'slack:T1', channel: null, gallery: 'brand' });
        await bindings.bind({ tenant: 'slack:T1', channel: 'C9', gallery: 'photos' });
        expect(await bindings.lookup('slack:T1', 'C1')).toBe('brand');
        expect(await bindings.lookup('slack:T1')).toBe('brand');
        expect(await bindings.lookup('slack:T1', 'C9')).toBe('photos');
        expect(await bindings.lookup('slack:T2', 'C9')).toBeNull();
        await bindings.bind({ tenant: 'slack:T1', channel: null, gallery: 'brand-2' });
        expect(await bindings.list()).toEqual([
          { tenant: 'slack:T1', channel: null, gallery: 'brand-2', boundAt: now },
          { tenant: 'slack:T1', channel: 'C9', gallery: 'photos', boundAt: now },
        ]);
        expect(await bindings.unbind('slack:T1', null)).toBe(true);
        expect(await bindings.unbind('slack:T1', null)).toBe(false);
        expect(await bindings.lookup('slack:T1', 'C1')).toBeNull();
        expect(await bindings.removeTenant('slack:T1')).toBe(1);
        expect(await bindings.list()).toEqual([]);
      });
    });

    describe('tenants', () => {
      it('keeps an installation until the tenant leaves, and finds tenants whose grace period is over', async () => {
        const { tenants } = s;
        const joinedAt = now;
        await tenants.joined('slack:T1', { bot: { token: 'xoxb-1' } });
        await tenants.joined('slack:T1');
        expect(await tenants.get('slack:T1')).toEqual({
          tenant: 'slack:T1',
          installation: { bot: { token: 'xoxb-1' } },
          joinedAt,
          leftAt: null,
        });
        await tenants.left('slack:T1', 5000);
        await tenants.left('slack:T1', 9000);
        expect(await tenants.get('slack:T1')).toMatchObject({ installation: null, leftAt: 5000 });
        expect(await tenants.leftBefore(5000)).toEqual([]);
        expect(await tenants.leftBefore(5001)).toEqual(['slack:T1']);
        await tenants.joined('slack:T1', { bot: { token: 'xoxb-2' } });
        expect(await tenants.get('slack:T1')).toMatchObject({
          installation: { bot: { token: 'xoxb-2' } },
          leftAt: null,
        });
        expect(await tenants.leftBefore(Number.MAX_SAFE_INTEGER)).toEqual([]);
        await tenants.left('discord:7', 10);
        expect(await tenants.leftBefore(11)).toEqual(['discord:7']);
        await tenants.remove('discord:7');
        expect(await tenants.get('discord:7')).toBeNull();
      });
    });

    describe('transcripts', () => {
      it('removes the records of one pseudonymous user (in one tenant) or one thread', async () => {
        const { transcripts } = s;
        await transcripts.put({ ...record('web:a', 0, 1), userHash: 'h1' });
        await transcripts.put({ ...record('web:a', 1, 2), userHash: 'h2' });
        await transcripts.put({ ...record('web:b', 0, 3), userHash: 'h1' });
        await transcripts.put({ ...record('discord:1:2:3', 0, 3), userHash: 'h1' });
        expect(await transcripts.removeUser('h1', 'local')).toBe(2);
        expect((await transcripts.list({ tenant: 'discord:1' })).map((r) => r.userHash)).toEqual(['h1']);
        expect(await transcripts.removeTenant('discord:1')).toBe(1);
        expect((await transcripts.list()).map((r) => r.userHash)).toEqual(['h2']);
        expect(await transcripts.removeThread('web:a')).toBe(1);
        expect(await transcripts.list()).toEqual([]);
      });

      it('upserts, lists by thread and round index, filters by since and thread, removes a round', async () => {
        const { transcripts } = s;
        const other = 'slack:T:C:1.5';
        await transcripts.put(record(KEY, 1, 200));
        await transcripts.put(record(other, 0, 50));
        await transcripts.put(record(KEY, 0, 100));
        await transcripts.put({
          ...record(KEY, 1, 200),
          label: 1,
          feedback: [{ kind: 'picked', assetIds: ['a1'] }],
        });

        const all = await transcripts.list();
        expect(all.map((r) => [r.threadKey, r.roundIndex])).toEqual([
          [KEY, 0],
          [KEY, 1],
          [other, 0],
        ]);
        expect(all[0]).toEqual(record(KEY, 0, 100));
        expect(all[1]?.label).toBe(1);
        expect(all[1]?.feedback).toEqual([{ kind: 'picked', assetIds: ['a1'] }]);

        expect((await transcripts.list({ since: 100 })).map((r) => r.roundId)).toEqual(['r0', 'r1']);
        expect((await transcripts.list({ since: 101 })).map((r) => r.roundId)).toEqual(['r1']);
        expect((await transcripts.list({ threadKey: other })).map((r) => r.threadKey)).toEqual([other]);
        expect(await transcripts.list({ threadKey: other, since: 51 })).toEqual([]);

        await transcripts.removeRound(KEY, 'r1');
        await transcripts.removeRound(KEY, 'nope');
        expect((await transcripts.list({ threadKey: KEY })).map((r) => r.roundId)).toEqual(['r0']);
        expect(await transcripts.removeThread(other)).toBe(1);
        expect(await transcripts.purgeBefore(101)).toBe(1);
        expect(await transcripts.list()).toEqual([]);
      });
    });

    describe('gallery', () => {
      it('upserts in one batch, gets one or many, counts and removes', async () => {
        const { gallery } = s;
        now = 42;
        await gallery.upsertAssets([
          { id: 'a1', source: '/g/a1.png', title: 'Fox', width: 256, height: 128, caption: 'orange fox' },
          { id: 'a2', source: '/g/a2.png', title: 'Owl', hash: 'abc', mtime: 5, sizeBytes: 900 },
          { id: 'a3', source: '/g/a3.png', title: 'Cat' },
        ]);
        expect(await gallery.count()).toBe(3);
        expect(await gallery.get('a1')).toEqual({
          id: 'a1',
          source: '/g/a1.png',
          title: 'Fox',
          width: 256,
          height: 128,
          caption: 'orange fox',
        });
        expect(await gallery.get('zzz')).toBeNull();

        const many = await gallery.getMany(['a3', 'missing', 'a1', 'a1']);
        expect([...many.keys()].sort()).toEqual(['a1', 'a3']);
        expect(many.get('a3')).toEqual({ id: 'a3', source: '/g/a3.png', title: 'Cat' });
        expect((await gallery.getMany([])).size).toBe(0);

        now = 99;
        await gallery.upsertAssets([{ id: 'a2', source: '/g/a2-new.png', title: 'Owl 2', hash: 'def' }]);
        const records = await gallery.all();
        expect(records.map((r) => r.id)).toEqual(['a1', 'a2', 'a3']);
        expect(records[1]).toEqual({
          id: 'a2',
          source: '/g/a2-new.png',
          title: 'Owl 2',
          hash: 'def',
          addedAt: 42,
        });

        expect(await gallery.removeAssets(['a1', 'nope'])).toBe(1);
        expect(await gallery.count()).toBe(2);
      });

      it('rolls back a failed batch as a whole', async () => {
        const bad = { id: 'b2', source: '/g/b2.png', title: null } as unknown as {
          id: string;
          source: string;
          title: string;
        };
        await expect(
          s.gallery.upsertAssets([{ id: 'b1', source: '/g/b1.png', title: 'ok' }, bad]),
        ).rejects.toThrow();
        expect(await s.gallery.count()).toBe(0);
      });

      it('reads local files by path, relative path or file URL, and returns null when missing', async () => {
        const dir = root;
        const bytes = Buffer.from([1, 2, 3, 4]);
        await writeFile(join(dir, 'img.png'), bytes);
        const { gallery } = s;
        expect(await gallery.read({ id: 'x', source: join(dir, 'img.png'), title: '' })).toEqual(bytes);
        expect(await gallery.read({ id: 'x', source: 'img.png', title: '' })).toEqual(bytes);
        expect(
          await gallery.read({ id: 'x', source: pathToFileURL(join(dir, 'img.png')).href, title: '' }),
        ).toEqual(bytes);
        expect(await gallery.read({ id: 'x', source: join(dir, 'missing.png'), title: '' })).toBeNull();
        expect(await gallery.read({ id: 'x', source: dir, title: '' })).toBeNull();
        expect(await gallery.read({ id: 'x', source: 'https://example.com/a.png', title: '' })).toBeNull();
        expect(await gallery.read({ id: 'x', source: '', title: '' })).toBeNull();
      });
    });

    describe('round images', () => {
      it('puts, gets by ref, deletes one, and deletes a whole thread', async () => {
        const png = Buffer.from([137, 80, 78, 71, 1, 2, 3]);
        const a = await s.images.put(KEY, 'r0', png);
        const b = await s.images.put(KEY, 'r1', Buffer.from([9]));
        const other = await s.images.put('web:x', 'r0', Buffer.from([7]));
        expect(new Set([a, b, other]).size).toBe(3);
        expect(await s.images.get(a)).toEqual(png);
        await s.images.delete(b);
        await s.images.delete(b);
        expect(await s.images.get(b)).toBeNull();
        await s.images.deleteThread(KEY);
        expect(await s.images.get(a)).toBeNull();
        expect(await s.images.get(other)).toEqual(Buffer.from([7]));
      });
    });

    describe('rate windows', () => {
      it('allows `limit` hits per window per key, says how long to wait, and takes only when all have room', async () => {
        const limits = [
          { key: 'u1', limit: 2 },
          { key: 'ws', limit: 3 },
        ];
        expect(await s.rates.check(limits, 1000, true)).toBe(0);
        now += 100;
        expect(await s.rates.check(limits, 1000, true)).toBe(0);
        expect(await s.rates.check(limits, 1000, false)).toBe(900);
        expect(await s.rates.check(limits, 1000, true)).toBe(900);
        // u1 was refused, so the workspace kept its third slot for someone else.
        expect(await s.rates.check([{ key: 'u2', limit: 2 }, limits[1]!], 1000, true)).toBe(0);
        expect(await s.rates.check([{ key: 'u3', limit: 2 }, limits[1]!], 1000, false)).toBe(900);
        now += 900;
        expect(await s.rates.check(limits, 1000, true)).toBe(0);
        expect(await s.rates.check([{ key: 'none', limit: 0 }], 1000, true)).toBe(0);
      });

      it('gives the last slot to exactly one of many concurrent takers', async () => {
        const taken = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            s.rates.check(
              [
                { key: `user${i}`, limit: 5 },
                { key: 'shared', limit: 3 },
              ],
              60_000,
              true,
            ),
          ),
        );
        expect(taken.filter((w) => w === 0)).toHaveLength(3);
      });
    });

    describe('thread inbox', () => {
      it('keeps messages per thread in arrival order, with uploads, until consumed', async () => {
        const upload = { name: 'a.png', data: Buffer.from([1, 2, 250]) };
        const s1 = await s.inbox.push(message('one'));
        const s2 = await s.inbox.push(message('two', { images: [upload], startsSearch: true }));
        await s.inbox.push({ ...message('elsewhere'), key: 'web:x' });
        const s3 = await s.inbox.push(
          message('three', { rejectedFiles: [{ name: 'b.txt', reason: 'not an image' }] }),
        );
        expect(s1 < s2 && s2 < s3).toBe(true);
        const pending = await s.inbox.pending(KEY);
        expect(pending.map((e) => e.message.text)).toEqual(['one', 'two', 'three']);
        expect(pending[1]?.message).toEqual(message('two', { images: [upload], startsSearch: true }));
        expect(pending[2]?.message.rejectedFiles).toEqual([{ name: 'b.txt', reason: 'not an image' }]);
        await s.inbox.consume(KEY, [s1, s3]);
        expect((await s.inbox.pending(KEY)).map((e) => e.seq)).toEqual([s2]);
        expect((await s.inbox.pending('web:x')).map((e) => e.message.text)).toEqual(['elsewhere']);
      });

      it('names the threads whose messages waited longer than an age', async () => {
        await s.inbox.push(message('old'));
        now += 5000;
        await s.inbox.push({ ...message('new'), key: 'web:new' });
        expect(await s.inbox.stale(1000, 10)).toEqual([KEY]);
        expect(await s.inbox.stale(10_000, 10)).toEqual([]);
      });
    });

    describe('thread locks', () => {
      it('gives a thread to one holder at a time, in turn; other threads are free', async () => {
        const events: string[] = [];
        const first = await s.locks.acquire(KEY);
        const second = s.locks.acquire(KEY).then((lease) => {
          events.push('second acquired');
          return lease;
        });
        const other = await s.locks.acquire('web:other');
        events.push('other acquired');
        await other.release();
        events.push('first released');
        await first.release();
        const lease = await second;
        expect(events).toEqual(['other acquired', 'first released', 'second acquired']);
        expect(lease.lost.aborted).toBe(false);
        await lease.release();
      });

      it('lets a waiter give up by its signal', async () => {
        const held = await s.locks.acquire(KEY);
        const giveUp = new AbortController();
        const waiting = s.locks.acquire(KEY, giveUp.signal);
        giveUp.abort(new Error('gave up'));
        await expect(waiting).rejects.toThrow('gave up');
        await held.release();
        await (await s.locks.acquire(KEY)).release();
      });
    });
  });
}
