/** Cuts text to at most `max` characters (code points), ending with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** A thread title from a description: one line, trimmed, cut to the platform's limit. */
export function threadTitle(description: string, max: number): string {
  const line = description.replace(/\s+/g, ' ').trim();
  return truncate(line || 'Image search', max);
}

/**
 * The longest message a front end accepts at all (the web's body, `genir ask`'s argument): longer
 * is refused before any work; up to it, the engine shortens to MAX_MESSAGE_CHARS with a note.
 */
export const MAX_TEXT_CHARS = 50_000;

/** Why a message longer than `max` is refused (the same words everywhere). */
export function tooLongText(length: number, max = MAX_TEXT_CHARS): string {
  return `That message is ${length.toLocaleString('en')} characters long; the most I accept is ${max.toLocaleString('en')}. Describe the image in fewer words.`;
}

/** "Top 10 matches", "Top 1 match". */
export function topMatches(n: number): string {
  return n === 1 ? 'Top 1 match' : `Top ${n} matches`;
}
