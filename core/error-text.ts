/**
 * The one table of what people read when something fails, by error code. Errors people may read
 * (UserFacingError) take their words from here; every other error reaches people as the
 * `internal` sentence, with nothing of its message, while the log keeps the whole error.
 */
import { CodedError, UserFacingError } from './errors.ts';

const ERROR_TEXT = {
  internal: () => 'Something went wrong on my side. Your thread is safe; please try again.',
  superseded: () => 'A newer message replaced that round; it is answered together with the next one.',
  'rate-limited': (p: { seconds: number }) =>
    `Slow down a little: too many rounds in the last minute. Try again in ${p.seconds} s.`,
  'rate-deferred': (p: { seconds: number }) =>
    `You are writing faster than I may draw (too many rounds in the last minute): I will answer this, and anything you add meanwhile, in one round in ${p.seconds} s.`,
  'thread-conflict': () => 'This thread was changed somewhere else at the same time. Please send that again.',
  'thread-conflict-kept': () =>
    'This thread was changed somewhere else at the same time, so I did not save that round. Your words are kept: they are answered in the next round.',
  'thread-exists': () => 'That search thread already exists.',
  'store-unavailable': () =>
    'I lost the connection to my database, so nothing of this was saved. Please try again in a moment.',
  'gallery-exhausted': () =>
    'I have shown you every image in the gallery that I can. Try Undo, or start a new search.',
  'gallery-empty': () =>
    'The gallery index is empty. Index a gallery first (genir index <folder>, or genir demo-gallery).',
  'no-gallery': () =>
    'No gallery is set up for this workspace yet, so there is nothing to search. An admin of the bot adds one: genir index <folder> --gallery <name>, then genir gallery bind <name> for this workspace (see docs/slack.md or docs/discord.md).',
  'gallery-unavailable': (p: { name: string; reason: string }) =>
    `The gallery "${p.name}" set up for this workspace cannot be opened (${p.reason}). An admin of the bot re-indexes it or binds another one.`,
  'bad-upload': (p: { name: string; reason: string }) =>
    `I could not use "${p.name}" as a picture: ${p.reason}`,
  'generation-failed': (p: { reason: string }) =>
    `I could not draw a picture for that (${p.reason}). Nothing was lost: try again.`,
  'delivery-failed': (p: { reason: string }) =>
    `I could not post that here (${p.reason}). Your thread is safe; please try again.`,
  refused: () => 'The image service refused to draw this description. Please rephrase it and send it again.',
  'refiner-failed': (p: { reason: string }) =>
    `I could not read that description (${p.reason}). Your thread is safe; please try again.`,
  'not-understood': (p: { what: string; examples: string[] }) =>
    [
      `I did not understand ${p.what}, so I drew nothing. Describe the image you remember, for example:`,
      ...p.examples.map((e) => `• ${e}`),
      'Commands start with a slash (/pick 3, /more 2); /help lists them.',
    ].join('\n'),
  timeout: (p: { reason: string }) =>
    `Reading your description took too long (${p.reason}). Your thread is safe; please try again.`,
};

export type ErrorCode = keyof typeof ERROR_TEXT;
type TextParams<C extends ErrorCode> = Parameters<(typeof ERROR_TEXT)[C]>;

/** The words for `code`, filled in with its parameters. */
export function errorText<C extends ErrorCode>(code: C, ...params: TextParams<C>): string {
  return (ERROR_TEXT[code] as (...p: TextParams<C>) => string)(...params);
}

/**
 * What to tell people about any error, and its code: a UserFacingError's own words, else the
 * generic sentence (front ends use this for their own "something went wrong" fallbacks too).
 */
export function describeError(err: unknown): { code: ErrorCode; text: string } {
  if (err instanceof UserFacingError) return { code: err.code, text: err.message };
  return { code: err instanceof CodedError ? err.code : 'internal', text: errorText('internal') };
}
