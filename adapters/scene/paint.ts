import type { Rgb } from './vocabulary.ts';

export function hex(rgb: readonly number[]): string {
  return `#${rgb
    .map((v) =>
      Math.round(Math.min(255, Math.max(0, v)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** The colour with its hue turned by hueDeg and lightness moved by `lightness` (-1..1), as #rrggbb. */
export function shiftedHex(rgb: Rgb, hueDeg: number, lightness: number): string {
  const [h, s, l] = toHsl(rgb);
  return hex(fromHsl((h + hueDeg / 360 + 1) % 1, s, Math.min(1, Math.max(0, l + lightness))));
}

/** A darker edge, or a lighter one for near-black fills, so shapes stay visible on their own colour. */
export function outlineHex(rgb: Rgb): string {
  const luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
  return hex(rgb.map((v) => (luma < 60 ? v + (255 - v) * 0.45 : v * 0.55)));
}

function toHsl([r8, g8, b8]: Rgb): [number, number, number] {
  const r = r8 / 255;
  const g = g8 / 255;
  const b = b8 / 255;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  const h = max === r ? (g - b) / d + (g < b ? 6 : 0) : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return [h / 6, s, l];
}

function fromHsl(h: number, s: number, l: number): Rgb {
  if (s === 0) return [l * 255, l * 255, l * 255];
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t0: number) => {
    const t = (t0 + 1) % 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return [channel(h + 1 / 3) * 255, channel(h) * 255, channel(h - 1 / 3) * 255];
}
