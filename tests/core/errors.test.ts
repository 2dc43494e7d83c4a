import { describe, expect, it } from 'vitest';
import { ConversationEngine } from '../../core/engine.ts';
import { describeError, errorText } from '../../core/error-text.ts';
import { CodedError, RefusedError, SupersededError, UserFacingError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import { engineWorld, RecordingSink } from '../support/engine-world.ts';

const GENERIC = 'Something went wrong on my side. Your thread is safe; please try again.';

describe('errors with codes', () => {
  it('people read a user-facing error in its own words, with its code', () => {
    const err = new UserFacingError('rate-limited', errorText('rate-limited', { seconds: 7 }));
    expect(describeError(err)).toEqual({
      code: 'rate-limited',
      text: 'Slow down a little: too many rounds in the last minute. Try again in 7 s.',
    });
    expect(describeError(new RefusedError('The safety filter said no. Please rephrase it.'))).toEqual({
      code: 'refused',
      text: 'The safety filter said no. Please rephrase it.',
    });
    expect(describeError(new RefusedError()).text).toBe(errorText('refused'));
  });

  it('any other error reaches people as the generic sentence, nothing of its message', () => {
    const secret = new Error('ENOENT: /srv/genir/secret.db');
    expect(describeError(secret)).toEqual({ code: 'internal', text: GENERIC });
    expect(describeError('a thrown string')).toEqual({ code: 'internal', text: GENERIC });
    const coded = new CodedError('thread-exists', 'thread web:x already exists', { cause: secret });
    expect(describeError(coded)).toEqual({ code: 'thread-exists', text: GENERIC });
    expect(coded.cause).toBe(secret);
    expect(describeError(new SupersededError()).code).toBe('superseded');
  });

  it('the engine tells people the generic sentence and logs the whole error', async () => {
    const w = await engineWorld();
    const logged: { obj: object; msg?: string }[] = [];
    const logger: Logger = { info() {}, warn() {}, error: (obj, msg) => logged.push({ obj, msg }) };
    const failure = new Error('onnx session /models/private.onnx crashed');
    const encoder = { ...w.deps.encoder, embedImages: async () => Promise.reject(failure) };
    const engine = new ConversationEngine({ ...w.deps, encoder, logger });
    const sink = new RecordingSink();
    await engine.onMessage({ key: 'test:t1', eventId: 'e1', userId: 'u', text: 'a red circle' }, sink);
    expect(sink.notices()).toEqual([GENERIC]);
    expect(logged).toEqual([
      { obj: { key: 'test:t1', code: 'internal', err: failure }, msg: 'event failed' },
    ]);
  });

  it('a refiner that fails with no fallback is reported with its reason and code', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    w.deps.refiner.fail = new Error('refiner exploded');
    await w.say('test:t1', 'a red circle', sink);
    expect(sink.notices()).toEqual([errorText('refiner-failed', { reason: 'refiner exploded' })]);
  });

  it('a refiner that runs out of time with no fallback says so', async () => {
    const w = await engineWorld();
    const refiner = {
      id: 'slow',
      refine: (_input: unknown, signal?: AbortSignal) =>
        new Promise<never>((_, reject) =>
          signal?.addEventListener('abort', () => reject(new Error('gave up'))),
        ),
    };
    const engine = new ConversationEngine({ ...w.deps, refiner }, { refineTimeoutMs: 10 });
    const sink = new RecordingSink();
    await engine.onMessage({ key: 'test:t1', eventId: 'e1', userId: 'u', text: 'a red circle' }, sink);
    expect(sink.notices()).toEqual([errorText('timeout', { reason: 'gave up' })]);
  });

  it('a post the platform refuses is reported in the platform words', async () => {
    const w = await engineWorld();
    const sink = new RecordingSink();
    let refuse = true;
    const picky = {
      send: async (reply: Parameters<RecordingSink['send']>[0]) => {
        if (reply.kind === 'round' && refuse) {
          refuse = false;
          throw new Error('An API error occurred: missing_scope');
        }
        await sink.send(reply);
      },
    };
    await w.say('test:t1', 'a red circle', picky);
    expect(sink.notices()).toEqual([
      errorText('delivery-failed', { reason: 'An API error occurred: missing_scope' }),
    ]);
  });
});
