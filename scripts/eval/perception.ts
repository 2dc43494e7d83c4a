/**
 * A pixel-level reader of the scene world: what a simulated user *sees* in a PNG.
 *
 * It gets an opaque PNG and nothing else (no caption, no scene, no query): every pixel is named by
 * its nearest vocabulary colour, the background is the commonest colour of the border, objects are
 * connected components of same-colour "core" pixels (eroded, so outlines and anti-aliasing drop
 * out), their shape is the nearest template by a rotation-invariant radial signature, size and
 * position come from the mask, and nearby same-shape same-colour components form a group (count).
 *
 * Allowed imports (tests/scripts/eval/no-leak.test.ts checks): the vocabulary (colour names and
 * their RGB, shape names, grid) and the shape outlines (what a star looks like). Nothing that
 * describes a particular image.
 */
import sharp from 'sharp';
import { shapeSvg } from '../../adapters/scene/shapes.ts';
import {
  COLOUR_RGB,
  COLOURS,
  type Colour,
  type Count,
  POSITIONS,
  type Position,
  SHAPES,
  type Shape,
  type Size,
} from '../../adapters/scene/vocabulary.ts';

export interface SeenObject {
  shape: Shape;
  colour: Colour;
  size: Size;
  position: Position;
  count: Count;
}

/** What a user sees in a picture: a background colour and object groups, largest first. */
export interface Percept {
  background: Colour;
  objects: SeenObject[];
}

/** Components smaller than this share of the image are specks, not objects. */
const MIN_AREA = 0.0004;
const BINS = 72;
/** Copies of a group shrink by these factors (the world's drawing convention, as people learn it). */
const COPY_SCALE: Record<Count, number> = { 1: 1, 2: 0.68, 3: 0.58 };
/** Nominal radius bounds between sizes, as a share of the side. */
const SIZE_BOUNDS = { smallMedium: 0.094, mediumLarge: 0.139 } as const;

interface Component {
  label: number;
  area: number;
  cx: number;
  cy: number;
  signature: Float64Array;
  /** Share of the disc of the mean radius that the component fills. */
  fill: number;
  /** Whether the centroid pixel is empty (rings). */
  hollow: boolean;
}

interface Template {
  shape: Shape;
  /** Nominal radius in pixels it was drawn at, and its core area then. */
  radius: number;
  area: number;
  signature: Float64Array;
  fill: number;
  hollow: boolean;
}

const PALETTE = COLOURS.map((c) => COLOUR_RGB[c]);

/** Index in COLOURS of the nearest vocabulary colour (weighted RGB distance, close to perceived). */
function nearestColour(r: number, g: number, b: number): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < PALETTE.length; i++) {
    const p = PALETTE[i] as readonly number[];
    const dr = r - (p[0] as number);
    const dg = g - (p[1] as number);
    const db = b - (p[2] as number);
    const rm = (r + (p[0] as number)) / 2;
    const d = (2 + rm / 256) * dr * dr + 4 * dg * dg + (2 + (255 - rm) / 256) * db * db;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

async function decode(png: Buffer): Promise<Raw> {
  if (!Buffer.isBuffer(png)) throw new TypeError('perceive() takes a PNG Buffer');
  const { data, info } = await sharp(png).removeAlpha().median(3).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Nearest-colour label of every RGB value at 6 bits per channel, computed once. */
let lut: Uint8Array | undefined;
function colourTable(): Uint8Array {
  if (lut) return lut;
  lut = new Uint8Array(1 << 18);
  for (let r = 0; r < 64; r++)
    for (let g = 0; g < 64; g++)
      for (let b = 0; b < 64; b++)
        lut[(r << 12) | (g << 6) | b] = nearestColour(r * 4 + 2, g * 4 + 2, b * 4 + 2);
  return lut;
}

/** Nearest-colour label per pixel. */
function labels({ data, width, height }: Raw): Uint8Array {
  const table = colourTable();
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const r = (data[3 * i] as number) >> 2;
    const g = (data[3 * i + 1] as number) >> 2;
    const b = (data[3 * i + 2] as number) >> 2;
    out[i] = table[(r << 12) | (g << 6) | b] as number;
  }
  return out;
}

function borderLabel(label: Uint8Array, width: number, height: number): number {
  const votes = new Float64Array(COLOURS.length);
  const vote = (i: number) => {
    votes[label[i] as number] = (votes[label[i] as number] as number) + 1;
  };
  for (let x = 0; x < width; x++) {
    vote(x);
    vote((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    vote(y * width);
    vote(y * width + width - 1);
  }
  return votes.indexOf(Math.max(...votes));
}

/** Pixels whose neighbours up to 2 px away (in a plus) carry the same label and are not background. */
function corePixels(label: Uint8Array, width: number, height: number, background: number): Uint8Array {
  const core = new Uint8Array(label.length);
  for (let y = 2; y < height - 2; y++) {
    for (let x = 2; x < width - 2; x++) {
      const i = y * width + x;
      const l = label[i] as number;
      if (l === background) continue;
      if (
        label[i - 1] === l &&
        label[i + 1] === l &&
        label[i - 2] === l &&
        label[i + 2] === l &&
        label[i - width] === l &&
        label[i + width] === l &&
        label[i - 2 * width] === l &&
        label[i + 2 * width] === l
      )
        core[i] = 1;
    }
  }
  return core;
}

function components(label: Uint8Array, core: Uint8Array, width: number, height: number): Component[] {
  const seen = new Uint8Array(core.length);
  const stack: number[] = [];
  const out: Component[] = [];
  const minArea = MIN_AREA * width * height;
  for (let start = 0; start < core.length; start++) {
    if (!core[start] || seen[start]) continue;
    const l = label[start] as number;
    const pixels: number[] = [];
    stack.push(start);
    seen[start] = 1;
    while (stack.length > 0) {
      const i = stack.pop() as number;
      pixels.push(i);
      const x = i % width;
      const visit = (j: number) => {
        if (core[j] && !seen[j] && label[j] === l) {
          seen[j] = 1;
          stack.push(j);
        }
      };
      if (i >= width) visit(i - width);
      if (i + width < core.length) visit(i + width);
      if (x > 0) visit(i - 1);
      if (x < width - 1) visit(i + 1);
    }
    // Objects of this world lie wholly inside the frame: what reaches the edge is background.
    const edge = pixels.some((i) => {
      const x = i % width;
      const y = Math.floor(i / width);
      return x <= 2 || y <= 2 || x >= width - 3 || y >= height - 3;
    });
    if (pixels.length >= minArea && !edge) out.push(describe(l, pixels, width, core, label));
  }
  return out;
}

function describe(
  l: number,
  pixels: number[],
  width: number,
  core: Uint8Array,
  label: Uint8Array,
): Component {
  let sx = 0;
  let sy = 0;
  for (const i of pixels) {
    sx += i % width;
    sy += Math.floor(i / width);
  }
  const cx = sx / pixels.length;
  const cy = sy / pixels.length;
  const radial = new Float64Array(BINS);
  for (const i of pixels) {
    const dx = (i % width) - cx;
    const dy = Math.floor(i / width) - cy;
    const bin = Math.floor(((Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI)) * BINS) % BINS;
    const d = Math.hypot(dx, dy) + 0.5;
    if (d > (radial[bin] as number)) radial[bin] = d;
  }
  const mean = radial.reduce((s, v) => s + v, 0) / BINS;
  const signature = radial.map((v) => v / mean);
  const centre = Math.round(cy) * width + Math.round(cx);
  return {
    label: l,
    area: pixels.length,
    cx,
    cy,
    signature,
    fill: pixels.length / (Math.PI * mean * mean),
    hollow: !(core[centre] && label[centre] === l),
  };
}

/** Rotation-invariant distance: the best circular shift of one signature onto the other. */
function shapeDistance(a: Component, t: Template): number {
  let best = Number.POSITIVE_INFINITY;
  for (let s = 0; s < BINS; s++) {
    let d = 0;
    for (let k = 0; k < BINS && d < best; k++) {
      const e = (a.signature[k] as number) - (t.signature[(k + s) % BINS] as number);
      d += e * e;
    }
    if (d < best) best = d;
  }
  return best / BINS + 2 * (a.fill - t.fill) ** 2 + (a.hollow === t.hollow ? 0 : 0.5);
}

const TEMPLATE_SIDE = 256;
/** Radii (px at a 256 side) the templates are drawn at: copies of small groups up to large singles. */
const TEMPLATE_RADII = [10, 16, 24, 32, 42];
let templates: Promise<Template[]> | undefined;

/** Each vocabulary shape drawn alone, read by the same pipeline: what the user knows shapes look like. */
function shapeTemplates(): Promise<Template[]> {
  templates ??= (async () => {
    const out: Template[] = [];
    const white = 'rgb(248,248,245)';
    for (const shape of SHAPES) {
      for (const radius of TEMPLATE_RADII) {
        const c = TEMPLATE_SIDE / 2;
        const fill = 'rgb(220,38,38)';
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${TEMPLATE_SIDE}" height="${TEMPLATE_SIDE}"><rect width="100%" height="100%" fill="${white}"/>${shapeSvg(shape, c, c, radius, 0, { fill, stroke: 'rgb(121,21,21)', strokeWidth: TEMPLATE_SIDE / 150 })}</svg>`;
        const png = await sharp(Buffer.from(svg)).png().toBuffer();
        const found = (await readComponents(png)).components;
        const main = found.sort((a, b) => b.area - a.area)[0];
        if (!main) throw new Error(`template of ${shape} at radius ${radius} came out empty`);
        out.push({
          shape,
          radius: radius / TEMPLATE_SIDE,
          area: main.area / TEMPLATE_SIDE ** 2,
          signature: main.signature,
          fill: main.fill,
          hollow: main.hollow,
        });
      }
    }
    return out;
  })();
  return templates;
}

async function readComponents(
  png: Buffer,
): Promise<{ background: number; components: Component[]; width: number; height: number }> {
  const raw = await decode(png);
  const label = labels(raw);
  const background = borderLabel(label, raw.width, raw.height);
  const core = corePixels(label, raw.width, raw.height, background);
  return {
    background,
    components: components(label, core, raw.width, raw.height),
    width: raw.width,
    height: raw.height,
  };
}

/** The nominal radius (share of the side) of a component of `shape`, from its area and the templates. */
function radiusOf(shape: Shape, area: number, all: Template[]): number {
  const own = all.filter((t) => t.shape === shape);
  const root = Math.sqrt(area);
  let lo = own[0] as Template;
  let hi = own[own.length - 1] as Template;
  for (let i = 0; i + 1 < own.length; i++) {
    const a = own[i] as Template;
    const b = own[i + 1] as Template;
    if (root <= Math.sqrt(b.area) || i + 2 === own.length) {
      lo = a;
      hi = b;
      break;
    }
  }
  const ra = Math.sqrt(lo.area);
  const rb = Math.sqrt(hi.area);
  return lo.radius + ((root - ra) / (rb - ra || 1)) * (hi.radius - lo.radius);
}

function sizeOfRadius(r: number): Size {
  return r < SIZE_BOUNDS.smallMedium ? 'small' : r < SIZE_BOUNDS.mediumLarge ? 'medium' : 'large';
}

function positionOf(x: number, y: number): Position {
  const col = Math.min(2, Math.max(0, Math.floor(x * 3)));
  const row = Math.min(2, Math.max(0, Math.floor(y * 3)));
  return POSITIONS[row * 3 + col] as Position;
}

/** Reads a PNG of the scene world into what a person would say is in it. */
export async function perceive(png: Buffer): Promise<Percept> {
  const all = await shapeTemplates();
  const { background, components: found, width, height } = await readComponents(png);
  const side = Math.sqrt(width * height);
  const read = found.map((c) => {
    // Best template distance per shape, kept for the group's vote.
    const byShape = new Map<Shape, number>();
    for (const t of all)
      byShape.set(t.shape, Math.min(byShape.get(t.shape) ?? Number.POSITIVE_INFINITY, shapeDistance(c, t)));
    const shape = [...byShape].sort((a, b) => a[1] - b[1])[0]?.[0] as Shape;
    return { c, byShape, radius: radiusOf(shape, c.area / (width * height), all) };
  });
  // Nearby copies of the same colour and about the same size are one group ("two stars").
  const groups: (typeof read)[] = [];
  for (const item of read.sort((a, b) => b.c.area - a.c.area)) {
    const group = groups.find(
      (g) =>
        g.length < 3 &&
        g[0]?.c.label === item.c.label &&
        (g[0]?.c.area ?? 0) < 2.2 * item.c.area &&
        g.some(
          (o) =>
            Math.hypot(o.c.cx - item.c.cx, o.c.cy - item.c.cy) / side < 3.6 * Math.max(o.radius, item.radius),
        ),
    );
    if (group) group.push(item);
    else groups.push([item]);
  }
  const objects = groups.map((g): SeenObject & { area: number } => {
    const count = g.length as Count;
    const radius = g.reduce((s, o) => s + o.radius, 0) / g.length / COPY_SCALE[count];
    const x = g.reduce((s, o) => s + o.c.cx, 0) / g.length / width;
    const y = g.reduce((s, o) => s + o.c.cy, 0) / g.length / height;
    const first = g[0] as (typeof read)[number];
    const votes = SHAPES.map((shape) => ({
      shape,
      d: g.reduce((s, o) => s + (o.byShape.get(shape) ?? 0), 0),
    }));
    const shape = votes.sort((a, b) => a.d - b.d)[0]?.shape as Shape;
    return {
      shape,
      colour: COLOURS[first.c.label] as Colour,
      size: sizeOfRadius(radius),
      position: positionOf(x, y),
      count,
      area: radius,
    };
  });
  objects.sort((a, b) => b.area - a.area);
  return {
    background: COLOURS[background] as Colour,
    objects: objects.map(({ area: _, ...o }) => o),
  };
}
