import sharp from 'sharp';
import { createRng, type Rng } from '../core/random.ts';

export const COLOURS: Record<string, [number, number, number]> = {
  red: [220, 40, 40], orange: [245, 140, 30], yellow: [245, 215, 40], green: [50, 170, 70],
  teal: [30, 160, 160], blue: [40, 80, 210], purple: [130, 60, 180], pink: [240, 120, 180],
  white: [245, 245, 245], black: [25, 25, 25], brown: [130, 80, 40], gray: [128, 128, 128],
};
export const BACKGROUNDS = ['white', 'black', 'blue', 'green', 'yellow', 'gray', 'pink', 'teal'];
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'hexagon'];
export const SIZES = [0.07, 0.11, 0.16];
export interface Group { shape: string; colour: string; size: number; pos: number; count: number }
export interface Scene { background: string; groups: Group[] }

const pickOf = <T>(rng: Rng, xs: readonly T[]) => xs[Math.floor(rng() * xs.length)] as T;

export function randomScene(rng: Rng): Scene {
  const background = pickOf(rng, BACKGROUNDS);
  const n = 1 + Math.floor(rng() * 3);
  const positions = [0, 1, 2, 3, 4, 5, 6, 7, 8].sort(() => rng() - 0.5);
  const groups: Group[] = [];
  for (let i = 0; i < n; i++) {
    let colour = pickOf(rng, Object.keys(COLOURS));
    while (colour === background) colour = pickOf(rng, Object.keys(COLOURS));
    groups.push({ shape: pickOf(rng, SHAPES), colour, size: Math.floor(rng() * 3), pos: positions[i]!, count: 1 });
  }
  return { background, groups };
}

function polygon(cx: number, cy: number, r: number, n: number, rot: number, inner?: number): string {
  const pts: string[] = [];
  const m = inner ? n * 2 : n;
  for (let i = 0; i < m; i++) {
    const a = rot + (i * 2 * Math.PI) / m - Math.PI / 2;
    const rr = inner && i % 2 === 1 ? r * inner : r;
    pts.push(`${(cx + rr * Math.cos(a)).toFixed(2)},${(cy + rr * Math.sin(a)).toFixed(2)}`);
  }
  return pts.join(' ');
}

export function shapeSvg(shape: string, cx: number, cy: number, r: number, rot: number, fill: string): string {
  switch (shape) {
    case 'circle': return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`;
    case 'square': return `<polygon points="${polygon(cx, cy, r * 1.2, 4, Math.PI / 4 + rot)}" fill="${fill}"/>`;
    case 'diamond': return `<polygon points="${polygon(cx, cy, r * 1.2, 4, rot)}" fill="${fill}"/>`;
    case 'triangle': return `<polygon points="${polygon(cx, cy, r * 1.25, 3, rot)}" fill="${fill}"/>`;
    case 'hexagon': return `<polygon points="${polygon(cx, cy, r * 1.1, 6, rot)}" fill="${fill}"/>`;
    default: return `<polygon points="${polygon(cx, cy, r * 1.3, 5, rot, 0.45)}" fill="${fill}"/>`;
  }
}

export async function drawScene(scene: Scene, jitterSeed: number | null, px = 256): Promise<Buffer> {
  const rng = createRng(jitterSeed ?? 1);
  const j = (a: number) => (jitterSeed === null ? 0 : (rng() * 2 - 1) * a);
  const col = (name: string) => {
    const c = COLOURS[name]!;
    return `rgb(${c.map((v) => Math.max(0, Math.min(255, Math.round(v + j(12))))).join(',')})`;
  };
  const parts = [`<rect width="${px}" height="${px}" fill="${col(scene.background)}"/>`];
  for (const g of scene.groups) {
    const cx = (0.2 + 0.3 * (g.pos % 3) + j(0.03)) * px;
    const cy = (0.2 + 0.3 * Math.floor(g.pos / 3) + j(0.03)) * px;
    const r = SIZES[g.size]! * px * (1 + j(0.1));
    parts.push(shapeSvg(g.shape, cx, cy, r, j(0.15), col(g.colour)));
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}">${parts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export type Attr = 'colour' | 'shape' | 'position' | 'background' | 'size';
export function mutate(scene: Scene, attr: Attr, rng: Rng): Scene {
  const s: Scene = structuredClone(scene);
  const g = s.groups[Math.floor(rng() * s.groups.length)]!;
  const other = <T>(xs: readonly T[], cur: T, avoid?: T) => { let v = cur; while (v === cur || v === avoid) v = pickOf(rng, xs); return v; };
  if (attr === 'colour') g.colour = other(Object.keys(COLOURS), g.colour, s.background);
  if (attr === 'shape') g.shape = other(SHAPES, g.shape);
  if (attr === 'size') g.size = other([0, 1, 2], g.size);
  if (attr === 'position') { const used = new Set(s.groups.map((x) => x.pos)); let p = g.pos; while (used.has(p)) p = Math.floor(rng() * 9); g.pos = p; }
  if (attr === 'background') { s.background = other(BACKGROUNDS, s.background); for (const x of s.groups) if (x.colour === s.background) x.colour = other(Object.keys(COLOURS), x.colour, s.background); }
  return s;
}
