/**
 * A round from people's words (and an uploaded picture): the messages that arrived since the last
 * round, merged, refined into a query, then drawn (or the upload used) and searched.
 */
import { errorText } from '../error-text.ts';
import { errorMessage, UserFacingError } from '../errors.ts';
import type { Visual } from '../round-runner.ts';
import type { InboundMessage, ThreadSink, ThreadState } from '../types.ts';
import { type ActionContext, answer, ms, NOTHING, type Outcome } from './context.ts';
import { STARTED_OVER } from './reset.ts';

/** What to offer when a refiner gives no examples of its own. */
const GENERIC_EXAMPLES = [
  'a red bicycle leaning on a brick wall',
  'a poster with a big orange fox on a teal background',
];

export async function answerMessages(
  ctx: ActionContext,
  state: ThreadState,
  msgs: InboundMessage[],
  sink: ThreadSink,
  cancel: AbortSignal,
): Promise<Outcome> {
  const { maxMessageChars } = ctx.options;
  const notes: string[] = [];
  const rejected = msgs.flatMap((m) => m.rejectedFiles ?? []);
  for (const f of rejected) notes.push(`I skipped "${f.name}": ${f.reason}.`);
  let text = msgs
    .map((m) => m.text.trim())
    .filter(Boolean)
    .join('\n');
  if (text.length > maxMessageChars) {
    notes.push(
      `Your message was ${text.length.toLocaleString('en')} characters; I used the first ${maxMessageChars.toLocaleString('en')}.`,
    );
    text = text.slice(0, maxMessageChars);
  }
  const upload = msgs.flatMap((m) => m.images ?? []).at(-1);
  const last = msgs.at(-1) as InboundMessage;

  if (!text && !upload) {
    const said = notes.length > 0 ? `${notes.join('\n')}\n` : '';
    await sink.send({
      kind: 'notice',
      level: rejected.length ? 'warn' : 'info',
      text: `${said}${ctx.deps.commands.help()}`,
    });
    return NOTHING;
  }
  let uploadPng: Buffer | undefined;
  if (upload) {
    try {
      uploadPng = await ctx.deps.pictures.uploadToPng(upload.data);
    } catch (err) {
      const reason = errorMessage(err);
      throw new UserFacingError('bad-upload', errorText('bad-upload', { name: upload.name, reason }), {
        cause: err,
      });
    }
  }

  let restart = msgs.some((m) => m.startsSearch) || state.rounds.length === 0;
  await sink.progress?.('Refining your description…');
  const previous = restart ? undefined : state.rounds.at(-1)?.query;
  const t0 = performance.now();
  const refined = text
    ? await ctx.runner.refine(previous, text, restart ? [] : state.rounds, cancel)
    : { query: previous ?? 'an image' };
  const refineMs = ms(performance.now() - t0);
  if (refined.note) notes.push(refined.note);
  if (refined.understood === false && !uploadPng) {
    const what = refined.unrecognised ?? 'that';
    const examples = refined.examples?.length ? refined.examples : GENERIC_EXAMPLES;
    return answer(sink, [...notes, errorText('not-understood', { what, examples })].join('\n'), {
      level: 'warn',
    });
  }
  if (refined.intent === 'restart') restart = true;
  if (!refined.query.trim() && !uploadPng) {
    if (!restart) return answer(sink, ctx.deps.commands.help());
    ctx.clearSearch(state);
    return { ...answer(sink, STARTED_OVER), state };
  }
  if (restart) ctx.clearSearch(state);
  else if (state.status === 'found') {
    ctx.reopen(state);
    notes.push('You had already picked a match; I am searching again with your correction.');
  }

  const visual: Visual = uploadPng
    ? { kind: 'upload', png: uploadPng }
    : { kind: 'generate', seed: ctx.seedFor(state, refined.query), route: true };
  await sink.progress?.(uploadPng ? 'Searching with your picture…' : 'Drawing what I understood…');
  return ctx.newRound(state, sink, {
    cause: uploadPng ? 'image' : restart ? 'find' : 'refine',
    userText: text,
    userId: last.userId,
    query: refined.query,
    visual,
    notes,
    timings: { refine: refineMs },
    cancel,
  });
}
