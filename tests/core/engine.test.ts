import { describe, expect, it, vi } from 'vitest';
import { decodeActionId, encodeActionId } from '../../commands/index.ts';
import { ConversationEngine } from '../../core/engine.ts';
import { RefusedError } from '../../core/errors.ts';
import { dot } from '../../core/vector.ts';
import { engineWorld, RecordingSink } from '../support/engine-world.ts';

const KEY = 'test:t1';

describe('ConversationEngine', () => {
  it('runs round 1 from a description: refined query, synthetic image, top-10 matches, actions', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    const [view] = sink.rounds();
    expect(view?.roundNumber).toBe(1);
    expect(view?.query).toBe('a red circle');
    expect(view?.syntheticPng?.subarray(1, 4).toString()).toBe('PNG');
    expect(view?.contactSheetPng.subarray(1, 4).toString()).toBe('PNG');
    expect(view?.tiles).toHaveLength(10);
    expect(view?.tiles.map((t) => t.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(decodeActionId(view?.actions.pick[2] as string)).toEqual({
      action: 'pick',
      roundId: view?.roundId,
      arg: '3',
    });
    const state = await w.engine.thread(KEY);
    expect(state?.rounds).toHaveLength(1);
    expect(state?.version).toBe(1);
    expect(sink.progressLines.length).toBeGreaterThan(0);
  });

  it('refines with every later message, passing the previous query', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    expect(sink.rounds().map((v) => v.query)).toEqual(['a red circle', 'a red circle; it is blue']);
    expect(sink.rounds()[1]?.roundNumber).toBe(2);
  });

  it('gives up a round still drawing when the person sends more, and answers everything in one round', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    let open!: () => void;
    w.deps.generator.gate = new Promise((r) => {
      open = r;
    });
    const first = w.say(KEY, 'a red circle', sink);
    while (w.deps.generator.queries.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = w.say(KEY, 'it is blue', sink);
    const third = w.say(KEY, 'and large', sink);
    await new Promise((r) => setTimeout(r, 20));
    open();
    w.deps.generator.gate = null;
    await Promise.all([first, second, third]);
    expect(sink.rounds().map((v) => v.query)).toEqual(['a red circle\nit is blue\nand large']);
    expect(w.deps.generator.queries).toEqual(['a red circle', 'a red circle\nit is blue\nand large']);
    expect((await w.engine.thread(KEY))?.rounds).toHaveLength(1);
  });

  it('merges messages that arrive after the drawing is done into the next round, in order', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    let open!: () => void;
    w.deps.generator.gate = new Promise((r) => {
      open = r;
    });
    w.deps.generator.honoursAbort = false;
    const first = w.say(KEY, 'a red circle', sink);
    while (w.deps.generator.queries.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = w.say(KEY, 'it is blue', sink);
    const third = w.say(KEY, 'and large', sink);
    open();
    w.deps.generator.gate = null;
    await Promise.all([first, second, third]);
    expect(sink.rounds().map((v) => v.query)).toEqual([
      'a red circle',
      'a red circle; it is blue\nand large',
    ]);
  });

  it('does not give up a round for a control pressed meanwhile', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    let open!: () => void;
    w.deps.generator.gate = new Promise((r) => {
      open = r;
    });
    const second = w.say(KEY, 'it is blue', sink);
    while (w.deps.generator.queries.length < 2) await new Promise((r) => setTimeout(r, 5));
    const help = w.say(KEY, '/help', sink);
    const third = w.say(KEY, 'and large', sink);
    open();
    w.deps.generator.gate = null;
    await Promise.all([second, help, third]);
    expect(sink.rounds().map((v) => v.roundNumber)).toEqual([1, 2, 3]);
  });

  it('keeps threads independent and each thread ordered', async () => {
    const w = await engineWorld();
    const a = new RecordingSink();
    const b = new RecordingSink();
    await Promise.all([w.say('test:a', 'one', a), w.say('test:b', 'two', b)]);
    await Promise.all([w.say('test:a', 'three', a), w.say('test:b', 'four', b)]);
    expect(a.rounds().map((v) => v.query)).toEqual(['one', 'one; three']);
    expect(b.rounds().map((v) => v.query)).toEqual(['two', 'two; four']);
  });

  it('deduplicates a redelivered event', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    const msg = { key: KEY, eventId: 'same', userId: 'u', text: 'a red circle' };
    await Promise.all([
      w.engine.onMessage(msg, sink),
      w.engine.onMessage(msg, sink),
      w.engine.onMessage(msg, sink),
    ]);
    expect(sink.rounds()).toHaveLength(1);
    expect(w.deps.refiner.calls).toBe(1);
  });

  it('excludes matches already shown in the thread (seen-exclusion)', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    await w.say(KEY, 'and large', sink);
    const ids = sink.rounds().flatMap((v) => v.tiles.map((t) => t.assetId));
    expect(new Set(ids).size).toBe(30);
  });

  it('shows matches again when seen-exclusion is off', async () => {
    const w = await engineWorld({
      ranking: { textWeight: 0, positiveWeight: 0.7, negativeWeight: 0.3, seenExclusion: false },
    });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.press(KEY, sink.rounds()[0]?.actions.regenerate as string, sink);
    const [r1, r2] = sink.rounds();
    const shared = r2?.tiles.filter((t) => r1?.tiles.some((u) => u.assetId === t.assetId)) ?? [];
    expect(shared.length).toBeGreaterThan(0);
  });

  it('pick n marks the thread found, labels the round and shows the original', async () => {
    const w = await engineWorld({ transcripts: 'on' });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    const view = sink.rounds()[0]!;
    await w.press(KEY, view.actions.pick[3] as string, sink);
    const found = sink.replies.at(-1);
    expect(found?.kind).toBe('found');
    if (found?.kind === 'found') expect(found.view.asset.id).toBe(view.tiles[3]?.assetId);
    const state = await w.engine.thread(KEY);
    expect(state?.status).toBe('found');
    expect(state?.found?.assetId).toBe(view.tiles[3]?.assetId);
    const records = await w.deps.transcripts.list();
    expect(records.map((r) => r.label)).toEqual([1]);
    expect(records[0]?.retrieved).toHaveLength(10);
  });

  it('more like n moves the query toward match n without drawing again', async () => {
    const w = await engineWorld({ assets: 200 });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    const r1 = sink.rounds()[0]!;
    const target = w.vectors.get(r1.tiles[4]?.assetId as string)!;
    const drawn = w.deps.generator.queries.length;
    await w.press(KEY, r1.actions.moreLike[4] as string, sink);
    const r2 = sink.rounds()[1]!;
    expect(w.deps.generator.queries.length).toBe(drawn);
    expect(r2.syntheticPng).toBeNull();
    const state = await w.engine.thread(KEY);
    expect(state?.rounds[0]?.feedback).toMatchObject([
      { kind: 'more-like', assetIds: [r1.tiles[4]?.assetId] },
    ]);
    // The new matches are closer to match #5 than those of the same round without the feedback.
    const base = Float32Array.from(state?.rounds[1]?.baseVector ?? []);
    const plain = await w.deps.index.search(base, 10, { exclude: new Set(r1.tiles.map((t) => t.assetId)) });
    const sim = (ids: string[]) => ids.reduce((s, id) => s + dot(w.vectors.get(id)!, target), 0) / ids.length;
    expect(sim(r2.tiles.map((t) => t.assetId))).toBeGreaterThan(sim(plain.map((h) => h.id)));
  });

  it('not these pushes away from every shown match', async () => {
    const w = await engineWorld({ assets: 200 });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    const r1 = sink.rounds()[0]!;
    await w.press(KEY, r1.actions.notThese, sink);
    const r2 = sink.rounds()[1]!;
    const state = await w.engine.thread(KEY);
    expect(state?.rounds[0]?.feedback[0]?.kind).toBe('not-these');
    expect(state?.rounds[0]?.feedback[0]?.assetIds).toHaveLength(10);
    const shown = r1.tiles.map((t) => w.vectors.get(t.assetId)!);
    const base = Float32Array.from(state?.rounds[1]?.baseVector ?? []);
    const plain = await w.deps.index.search(base, 10, { exclude: new Set(r1.tiles.map((t) => t.assetId)) });
    const sim = (ids: string[]) =>
      ids.reduce((s, id) => s + shown.reduce((t, v) => t + dot(w.vectors.get(id)!, v), 0), 0) / ids.length;
    expect(sim(r2.tiles.map((t) => t.assetId))).toBeLessThan(sim(plain.map((h) => h.id)));
  });

  it('regenerate draws the same query with a new seed', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.press(KEY, sink.rounds()[0]?.actions.regenerate as string, sink);
    const state = await w.engine.thread(KEY);
    const [a, b] = state?.rounds ?? [];
    expect(b?.query).toBe(a?.query);
    expect(b?.cause).toBe('regenerate');
    expect(b?.generated?.seed).not.toBe(a?.generated?.seed);
  });

  it('undo drops the last round, re-shows the one before and removes its transcript', async () => {
    const w = await engineWorld({ transcripts: 'on' });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    await w.say(KEY, '/undo', sink);
    const state = await w.engine.thread(KEY);
    expect(state?.rounds).toHaveLength(1);
    expect(sink.rounds().at(-1)?.roundNumber).toBe(1);
    expect((await w.deps.transcripts.list()).map((r) => r.roundIndex)).toEqual([0]);
    await w.say(KEY, 'it is green', sink);
    expect(sink.rounds().at(-1)?.query).toBe('a red circle; it is green');
  });

  it('reset clears the search; the next message starts a new one', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, '/reset', sink);
    expect((await w.engine.thread(KEY))?.rounds).toHaveLength(0);
    await w.say(KEY, 'a blue star', sink);
    expect(sink.rounds().at(-1)).toMatchObject({ query: 'a blue star', roundNumber: 1 });
  });

  it('find starts a new search and a refiner "restart" intent does too', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, '/find a green square', sink);
    expect(sink.rounds().at(-1)).toMatchObject({ query: 'a green square', roundNumber: 1 });
    await w.say(KEY, 'start over a pink heart', sink);
    expect(sink.rounds().at(-1)).toMatchObject({ query: 'a pink heart', roundNumber: 1 });
    await w.say(KEY, 'start over', sink);
    expect(sink.notices().at(-1)).toBe('Started over. Describe the image you have in mind.');
    expect((await w.engine.thread(KEY))?.rounds).toEqual([]);
  });

  it('answers help, empty messages and unknown commands with the command list', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, '/help', sink);
    await w.say(KEY, '   ', sink);
    await w.say(KEY, '/frobnicate', sink);
    const [help, empty, unknown] = sink.notices();
    for (const text of [help, empty, unknown]) expect(text).toContain('/pick <n>');
    expect(unknown).toContain('Unknown command "/frobnicate"');
    expect(await w.engine.thread(KEY)).toBeNull();
  });

  it('truncates a huge message with a notice', async () => {
    const w = await engineWorld({ maxMessageChars: 100 });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle '.repeat(400), sink);
    const view = sink.rounds()[0]!;
    expect(view.query).toHaveLength(100);
    expect(view.notes.join(' ')).toContain('5,199 characters; I used the first 100');
  });

  it('does not draw what the refiner did not understand: it says so with examples, and the thread is unchanged', async () => {
    const w = await engineWorld({ maxMessageChars: 100 });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    const before = await w.engine.thread(KEY);
    await w.say(KEY, 'x'.repeat(5000), sink);
    const notice = sink.replies.at(-1);
    expect(notice).toMatchObject({ kind: 'notice', level: 'warn' });
    const text = (notice as { text: string }).text;
    expect(text).toContain('5,000 characters; I used the first 100');
    expect(text).toContain(`I did not understand "${'x'.repeat(37)}…", so I drew nothing.`);
    expect(text).toContain('• a red bicycle leaning on a brick wall');
    expect(sink.rounds()).toHaveLength(1);
    expect((await w.engine.thread(KEY))?.rounds).toEqual(before?.rounds);
  });

  it('refuses out-of-range picks and actions on a finished thread, changing nothing', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, '/pick 11', sink);
    await w.say(KEY, '/more 0', sink);
    await w.say(KEY, '/pick', sink);
    await w.say(KEY, '/pick 2', sink);
    await w.say(KEY, '/more 3', sink);
    const notices = sink.notices();
    expect(notices[0]).toContain('There is no match #11 in round 1; pick a number from 1 to 10');
    expect(notices[1]).toContain('There is no match #0');
    expect(notices[2]).toContain('Say which match');
    expect(notices[3]).toContain('This search is finished');
    const state = await w.engine.thread(KEY);
    expect(state?.rounds).toHaveLength(1);
    expect(state?.status).toBe('found');
  });

  it('answers a button from an older round as stale and changes nothing', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    const old = sink.rounds()[0]!;
    await w.press(KEY, old.actions.pick[0] as string, sink);
    const last = sink.replies.at(-1);
    expect(last).toMatchObject({ kind: 'notice', ephemeral: true });
    if (last?.kind === 'notice') expect(last.text).toContain('round 1, which is no longer current');
    expect((await w.engine.thread(KEY))?.status).toBe('active');
    await w.press(KEY, encodeActionId('pick', 'gone', 1), sink);
    expect(sink.notices().at(-1)).toContain('an earlier search');
    await w.press(KEY, 'not-a-genir-id', sink);
    expect(sink.notices().at(-1)).toContain('I do not know that button');
  });

  it('falls back to the previous picture when generation fails, and says so', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    w.deps.generator.fail = new Error('provider down');
    await w.say(KEY, 'it is blue', sink);
    const r2 = sink.rounds()[1]!;
    expect(r2.syntheticPng).toBeNull();
    expect(r2.notes.join(' ')).toContain(
      "could not draw this round (provider down); these matches reuse the previous round's picture",
    );
    expect((await w.engine.thread(KEY))?.rounds).toHaveLength(2);
  });

  it('reports a failed first drawing in the thread and keeps nothing half-done', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    w.deps.generator.fail = new Error('provider down');
    await w.say(KEY, 'a red circle', sink);
    expect(sink.notices()[0]).toContain('I could not draw a picture for that (provider down)');
    expect(await w.engine.thread(KEY)).toBeNull();
    w.deps.generator.fail = null;
    await w.say(KEY, 'a red circle', sink);
    expect(sink.rounds()).toHaveLength(1);
  });

  it('asks to rephrase on a safety refusal instead of falling back', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    w.deps.generator.fail = new RefusedError(
      'The image service refused that description. Please rephrase it.',
    );
    await w.say(KEY, 'something unsafe', sink);
    expect(sink.notices().at(-1)).toBe('The image service refused that description. Please rephrase it.');
    expect((await w.engine.thread(KEY))?.rounds).toHaveLength(1);
  });

  it('uses the fallback refiner when the refiner fails, with a note', async () => {
    const w = await engineWorld();
    const fallback = { id: 'rules', refine: async () => ({ query: 'fallback query' }) };
    const { ConversationEngine } = await import('../../core/engine.ts');
    const engine = new ConversationEngine({ ...w.deps, fallbackRefiner: fallback });
    w.deps.refiner.fail = new Error('timeout');
    const sink = new RecordingSink();
    await engine.onMessage({ key: KEY, eventId: 'x', userId: 'u', text: 'a red circle' }, sink);
    expect(sink.rounds()[0]?.query).toBe('fallback query');
    expect(sink.rounds()[0]?.notes[0]).toContain('The fake-refiner refiner failed (timeout)');
  });

  it('reports a non-image upload and still runs the round from the text', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink, {
      rejectedFiles: [{ name: 'notes.pdf', reason: 'it is not an image' }],
    });
    expect(sink.rounds()[0]?.notes[0]).toBe('I skipped "notes.pdf": it is not an image.');
  });

  it('uses an uploaded image as the query image, and rejects corrupt ones clearly', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    const png = (await w.deps.generator.generate('x', { seed: 1, signal: new AbortController().signal })).png;
    const drawn = w.deps.generator.queries.length;
    await w.say(KEY, '', sink, { images: [{ name: 'photo.png', data: png }] });
    expect(sink.rounds()).toHaveLength(1);
    expect(w.deps.generator.queries.length).toBe(drawn);
    expect((await w.engine.thread(KEY))?.rounds[0]?.generated?.generatorId).toBe('upload');
    await w.say(KEY, 'like this', sink, {
      images: [{ name: 'broken.jpg', data: Buffer.from('not really a jpeg') }],
    });
    expect(sink.notices().at(-1)).toContain('I could not use "broken.jpg" as a picture: not an image');
    expect((await w.engine.thread(KEY))?.rounds).toHaveLength(1);

    // Regenerate cannot redraw a photo: it says so, draws nothing, and the search stays as it was.
    const [r1] = sink.rounds();
    await w.press(KEY, r1?.actions.regenerate as string, sink);
    expect(sink.notices().at(-1)).toContain('I cannot redraw a photo');
    expect(w.deps.generator.queries.length).toBe(drawn);
    expect((await w.engine.thread(KEY))?.rounds).toHaveLength(1);
  });

  it('never draws a round twice on a compare-and-set conflict: removes its picture, keeps the words for the next round', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    const save = w.deps.threads.save.bind(w.deps.threads);
    const generate = w.deps.generator.generate.bind(w.deps.generator);
    let draws = 0;
    w.deps.generator.generate = (q, o) => {
      draws++;
      return generate(q, o);
    };
    const deleted: string[] = [];
    const remove = w.deps.images.delete.bind(w.deps.images);
    w.deps.images.delete = (ref) => {
      deleted.push(ref);
      return remove(ref);
    };
    w.deps.threads.save = async () => false;
    await w.say(KEY, 'it is blue', sink);
    expect(draws).toBe(1);
    expect(sink.notices().at(-1)).toContain('Your words are kept');
    expect(deleted).toHaveLength(1);
    expect(await w.deps.images.get(deleted[0] as string)).toBeNull();
    w.deps.threads.save = save;
    await w.say(KEY, 'and large', sink);
    expect(sink.rounds().at(-1)?.query).toBeDefined();
    expect((await w.engine.thread(KEY))?.rounds.at(-1)?.userText).toBe('it is blue\nand large');
  });

  it('tries a cheap decision (pick) once more on a conflict, then tells the person', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    const save = w.deps.threads.save.bind(w.deps.threads);
    let conflicts = 1;
    w.deps.threads.save = async (state, expected) => (conflicts-- > 0 ? false : save(state, expected));
    await w.say(KEY, '/pick 1', sink);
    expect(sink.replies.at(-1)?.kind).toBe('found');
    w.deps.threads.save = async () => false;
    await w.say(KEY, '/undo', sink);
    expect(sink.notices().at(-1)).toContain('changed somewhere else at the same time');
  });

  it('survives a sink that throws and keeps serving the thread', async () => {
    const w = await engineWorld();
    const broken = { send: async () => Promise.reject(new Error('platform down')) };
    await w.say(KEY, 'a red circle', broken);
    const sink = new RecordingSink();
    await w.say(KEY, 'it is blue', sink);
    expect(sink.rounds().at(-1)?.roundNumber).toBe(2);
  });

  it('keeps messages over the rate limit: one notice, then one round with everything sent meanwhile', async () => {
    let release = () => {};
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waits: number[] = [];
    const w = await engineWorld({
      roundsPerUserPerMinute: 2,
      sleep: async (ms) => {
        waits.push(ms);
        w.advance(ms);
        await paused;
      },
    });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    expect(await w.engine.tooFast(KEY, 'u1')).toMatch(/^Slow down a little: .* Try again in \d+ s\.$/);
    const third = w.say(KEY, 'it is large', sink);
    await vi.waitFor(() => expect(waits).toHaveLength(1));
    const fourth = w.say(KEY, 'and at the top', sink);
    release();
    await Promise.all([third, fourth]);
    const deferred = sink.notices().filter((n) => n.startsWith('You are writing faster than I may draw'));
    expect(deferred).toHaveLength(1);
    expect(deferred[0]).toMatch(/in \d+ s\.$/);
    const rounds = (await w.engine.thread(KEY))?.rounds ?? [];
    expect(rounds).toHaveLength(3);
    expect(rounds[2]?.userText).toBe('it is large\nand at the top');
    expect(await w.engine.tooFast(KEY, 'u1')).not.toBeNull();
    expect(await w.engine.tooFast(KEY, 'someone else')).toBeNull();
  });

  it('refuses controls that would start a round over the limit, with the wait, and loses no state', async () => {
    const w = await engineWorld({ roundsPerUserPerMinute: 1 });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.press(KEY, sink.rounds()[0]?.actions.regenerate as string, sink);
    expect(sink.notices().at(-1)).toMatch(
      /^Slow down a little: too many rounds in the last minute\. Try again in \d+ s\.$/,
    );
    await w.say(KEY, '/pick 1', sink);
    expect(sink.replies.at(-1)?.kind).toBe('found');
    expect((await w.engine.thread(KEY))?.rounds).toHaveLength(1);
  });

  describe('research transcripts', () => {
    it('opt-in: keeps nothing until the person presses Keep, then the whole search', async () => {
      const w = await engineWorld({ transcripts: 'opt-in' });
      const sink = new RecordingSink();
      await w.say(KEY, 'a red circle', sink);
      await w.say(KEY, 'it is blue', sink);
      const [r1, r2] = sink.rounds();
      expect(r1?.consentNotice).toContain(
        'only if you choose "Keep this search for research" or type /keep.',
      );
      expect(r2?.consentNotice).toBeUndefined();
      expect(r2?.actions.keep).toBeDefined();
      expect(await w.deps.transcripts.list()).toEqual([]);
      await w.press(KEY, r2?.actions.keep as string, sink);
      expect(sink.notices().at(-1)).toContain('will be kept for research');
      expect((await w.deps.transcripts.list()).map((r) => r.roundIndex)).toEqual([0, 1]);
      await w.say(KEY, 'and large', sink);
      expect(sink.rounds().at(-1)?.actions.keep).toBeUndefined();
      expect(await w.deps.transcripts.list()).toHaveLength(3);
    });

    it('on: a one-line notice in the first round and every round kept; off: nothing at all', async () => {
      const on = await engineWorld({ transcripts: 'on' });
      const sink = new RecordingSink();
      await on.say(KEY, 'a red circle', sink);
      expect(sink.rounds()[0]?.consentNotice).toContain('kept as pseudonymized transcripts');
      expect(sink.rounds()[0]?.actions.keep).toBeUndefined();
      expect(await on.deps.transcripts.list()).toHaveLength(1);
      const off = await engineWorld({ transcripts: 'off' });
      const offSink = new RecordingSink();
      await off.say(KEY, 'a red circle', offSink);
      await off.press(KEY, offSink.rounds()[0]?.actions.pick[0] as string, offSink);
      await off.say(KEY, '/keep', offSink);
      expect(offSink.rounds()[0]?.consentNotice).toBeUndefined();
      expect(offSink.notices().at(-1)).toContain('not collected');
      expect(await off.deps.transcripts.list()).toEqual([]);
    });

    it('stores user ids only as salted hashes', async () => {
      const w = await engineWorld({ transcripts: 'on', hashUser: (id) => `h(${id})` });
      await w.say(KEY, 'a red circle', new RecordingSink());
      const [record] = await w.deps.transcripts.list();
      expect(record?.userHash).toBe('h(u1)');
      expect(JSON.stringify(record)).not.toContain('"u1"');
    });

    it('/forget deletes every search and transcript of the person and nothing of others', async () => {
      const w = await engineWorld({ transcripts: 'on' });
      const sink = new RecordingSink();
      await w.say('test:mine', 'a red circle', sink);
      await w.engine.onMessage(
        { key: 'test:theirs', eventId: 'o1', userId: 'u2', text: 'a blue star' },
        sink,
      );
      await w.say('test:mine', '/forget', sink);
      expect(sink.notices().at(-1)).toBe(
        'Deleted 1 search and 1 transcript record of yours. Nothing of yours is kept.',
      );
      expect(await w.engine.thread('test:mine')).toBeNull();
      expect(await w.engine.thread('test:theirs')).not.toBeNull();
      expect((await w.deps.transcripts.list()).map((r) => r.threadKey)).toEqual(['test:theirs']);
    });

    it('admin-only commands are refused to others with a clear message', async () => {
      const admin = { status: async () => 'status ok', export: async () => 'exported' };
      const w = await engineWorld({ transcripts: 'on', isAdmin: (id) => id === 'test:boss', admin });
      const sink = new RecordingSink();
      await w.say(KEY, 'a red circle', sink);
      await w.say(KEY, '/status', sink);
      await w.say(KEY, '/export', sink);
      await w.say(KEY, '/forget user u9', sink);
      expect(sink.notices()).toEqual([
        '/status is for admins of this workspace only.',
        '/export is for admins of this workspace only.',
        'Only admins can forget other people or threads. /forget alone deletes your own data.',
      ]);
      const boss = (text: string, id: string) =>
        w.engine.onMessage({ key: KEY, eventId: id, userId: 'boss', text }, sink);
      await boss('/status', 'b1');
      await boss('/export', 'b2');
      await boss('/forget user u1', 'b3');
      expect(sink.notices().slice(3)).toEqual([
        expect.stringMatching(/^status ok\nThis thread: 1 rounds, 1 generator calls, 0 rounds in words/),
        'exported',
        'Deleted 1 search and 1 transcript record of user u1.',
      ]);
      expect(await w.engine.thread(KEY)).toBeNull();
    });
  });
});

describe('a restarted engine on the same store', () => {
  it('answers the first message in a thread an earlier process answered', async () => {
    const w = await engineWorld();
    const key = 'test:restart';
    const sink = new RecordingSink();
    await w.say(key, 'a red circle', sink);
    const restarted = new ConversationEngine(w.deps, { now: () => Date.now() });
    await restarted.onMessage({ key, eventId: 'after-restart', userId: 'u1', text: 'it is blue' }, sink);
    expect(sink.rounds().map((r) => r.roundNumber)).toEqual([1, 2]);
  });
});
