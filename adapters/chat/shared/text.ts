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
