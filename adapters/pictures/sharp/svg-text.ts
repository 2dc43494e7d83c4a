/**
 * Text helpers for the SVG overlays drawn by render.ts: XML escaping, a width estimate for
 * DejaVu Sans, word wrapping with an ellipsis and single-line truncation. No measuring is done
 * (librsvg lays the text out); widths are estimated conservatively so lines do not overflow.
 */

export const ELLIPSIS = '…';

/** Characters XML 1.0 forbids (C0 controls but tab/newline/CR, U+FFFE/U+FFFF, lone surrogates). */
const INVALID_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escape text for use in SVG element content or attribute values; drops characters XML forbids. */
export function escapeXml(text: string): string {
  return text.replace(INVALID_XML, '').replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&apos;';
    }
  });
}

/** Collapse all whitespace (newlines, tabs) to single spaces and trim. */
export function normalizeSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * How many characters of DejaVu Sans fit in `widthPx` at `fontSizePx`. The average advance is
 * about 0.55 em for mixed text; 0.6 em (0.66 em bold) keeps capitals and wide letters inside.
 */
export function charsThatFit(widthPx: number, fontSizePx: number, bold = false): number {
  const advance = fontSizePx * (bold ? 0.66 : 0.6);
  return Math.max(1, Math.floor(widthPx / advance));
}

/** Cut text to at most `maxChars` characters (code points), ending with an ellipsis when cut. */
export function truncate(text: string, maxChars: number): string {
  const chars = Array.from(normalizeSpace(text));
  if (chars.length <= maxChars) return chars.join('');
  if (maxChars <= 1) return ELLIPSIS;
  return `${chars
    .slice(0, maxChars - 1)
    .join('')
    .trimEnd()}${ELLIPSIS}`;
}

/**
 * Word-wrap text into at most `maxLines` lines of at most `maxChars` characters each. Words longer
 * than a line are split. When the text does not fit, the last line ends with an ellipsis.
 */
export function wrapText(text: string, maxChars: number, maxLines: number): string[] {
  const width = Math.max(1, Math.floor(maxChars));
  const limit = Math.max(1, Math.floor(maxLines));
  const words = normalizeSpace(text).split(' ').filter(Boolean);
  const lines: string[] = [];
  let line: string[] = [];
  let lineLength = 0;
  const flush = () => {
    lines.push(line.join(''));
    line = [];
    lineLength = 0;
  };
  for (const word of words) {
    let chars = Array.from(word);
    if (lineLength > 0 && lineLength + 1 + chars.length > width) flush();
    if (lineLength > 0) {
      line.push(' ');
      lineLength += 1;
    }
    while (lineLength + chars.length > width) {
      const room = width - lineLength;
      line.push(chars.slice(0, room).join(''));
      lineLength += room;
      flush();
      chars = chars.slice(room);
    }
    line.push(chars.join(''));
    lineLength += chars.length;
    if (lines.length > limit) break;
  }
  if (lineLength > 0) flush();
  if (lines.length <= limit) return lines;
  const kept = lines.slice(0, limit);
  const last = Array.from(kept[limit - 1] ?? '');
  const room = Math.max(0, width - 1);
  kept[limit - 1] = `${last.slice(0, room).join('').trimEnd()}${ELLIPSIS}`;
  return kept;
}
