import sharp from 'sharp';
import type { Rng } from '../../core/random.ts';
import { jitterScene } from './complete.ts';
import { hex, outlineHex, shiftedHex } from './paint.ts';
import type { Scene, SceneJitter, SceneObject } from './scene.ts';
import { shapeSvg } from './shapes.ts';
import { COLOUR_RGB, type Count, POSITION_GRID, type Rgb, type Size } from './vocabulary.ts';

export interface RenderOptions {
  /** Side of the square image in pixels (16..4096); default 256. */
  size?: number;
  /** Draws the scene with fresh random variations from this rng (see jitterScene). */
  jitter?: Rng;
  /**
   * 'flat' (default): a clean sketch. 'photo': the same scene as a camera might catch it — a
   * lighting gradient, a twig across the view, a slight perspective, blur and sensor noise (needs
   * `jitter`, which also drives these).
   */
  style?: RenderStyle;
}

export type RenderStyle = 'flat' | 'photo';

/** Centre of each grid row/column, as a fraction of the side. */
const CELL_CENTRES = [1 / 6, 1 / 2, 5 / 6];
/** Nominal radius of one object, as a fraction of the side. */
const RADIUS: Record<Size, number> = { small: 0.075, medium: 0.115, large: 0.165 };
/** Copies of a group: unit offsets around the group centre and the radius factor of each copy. */
const COPIES: Record<Count, { offsets: readonly (readonly [number, number])[]; scale: number }> = {
  1: { offsets: [[0, 0]], scale: 1 },
  2: {
    offsets: [
      [-1, 0],
      [1, 0],
    ],
    scale: 0.68,
  },
  3: {
    offsets: [
      [0, -1],
      [0.87, 0.5],
      [-0.87, 0.5],
    ],
    scale: 0.58,
  },
};
/** Shapes reach up to 1.35 × their nominal radius (star and triangle tips). */
const REACH = 1.35;

/** Renders a scene to a PNG (RGB, no alpha). Without jitter the output is deterministic. */
export async function renderScene(scene: Scene, options: RenderOptions = {}): Promise<Buffer> {
  const size = options.size ?? 256;
  if (!Number.isInteger(size) || size < 16 || size > 4096) throw new RangeError(`bad render size: ${size}`);
  const drawn = options.jitter ? jitterScene(scene, options.jitter) : scene;
  if ((options.style ?? 'flat') === 'photo') {
    if (!options.jitter) throw new Error('a photo-style render needs a jitter rng');
    const svg = sceneSvg(drawn, size, photoOverlay(size, options.jitter));
    return photograph(svg, size, COLOUR_RGB[scene.background], options.jitter);
  }
  // Low zlib effort: flat-colour images compress well anyway and encoding dominates render time.
  return sharp(Buffer.from(sceneSvg(drawn, size)))
    .removeAlpha()
    .png({ compressionLevel: 2 })
    .toBuffer();
}

/** A lighting gradient at a random angle and a thin dark twig crossing part of the view. */
function photoOverlay(size: number, rng: Rng): string {
  const angle = rng() * Math.PI * 2;
  const [x1, y1] = [0.5 - 0.5 * Math.cos(angle), 0.5 - 0.5 * Math.sin(angle)];
  const [x2, y2] = [1 - x1, 1 - y1];
  const light = 0.1 + 0.15 * rng();
  const shade = 0.1 + 0.2 * rng();
  const gradient = `<defs><linearGradient id="light" x1="${x1.toFixed(2)}" y1="${y1.toFixed(2)}" x2="${x2.toFixed(2)}" y2="${y2.toFixed(2)}"><stop offset="0" stop-color="#fff" stop-opacity="${light.toFixed(2)}"/><stop offset="1" stop-color="#000" stop-opacity="${shade.toFixed(2)}"/></linearGradient></defs><rect width="${size}" height="${size}" fill="url(#light)"/>`;
  const p = () => (rng() * size).toFixed(1);
  const twig = `<path d="M${p()} ${p()} Q${p()} ${p()} ${p()} ${p()}" stroke="#3b2f25" stroke-opacity="0.85" stroke-width="${(size / 90).toFixed(1)}" fill="none" stroke-linecap="round"/>`;
  return gradient + twig;
}

/** Perspective (a small shear), blur and sensor noise over the rendered SVG. */
async function photograph(svg: string, size: number, background: Rgb, rng: Rng): Promise<Buffer> {
  const shear = () => (rng() - 0.5) * 0.12;
  const { data, info } = await sharp(Buffer.from(svg))
    .removeAlpha()
    .affine([1, shear(), shear(), 1], {
      interpolator: 'bilinear',
      background: { r: background[0], g: background[1], b: background[2] },
    })
    .resize(size, size, { fit: 'cover' })
    .blur(0.6 + rng() * 0.9)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const sigma = 4 + rng() * 6;
  for (let i = 0; i < data.length; i++) {
    // Sum of uniforms: cheap, roughly Gaussian noise.
    const noise = (rng() + rng() + rng() - 1.5) * 2 * sigma;
    data[i] = Math.max(0, Math.min(255, (data[i] as number) + noise));
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .png({ compressionLevel: 2 })
    .toBuffer();
}

function sceneSvg(scene: Scene, size: number, overlay = ''): string {
  const bg = scene.jitter
    ? shiftedHex(COLOUR_RGB[scene.background], 0, scene.jitter.lightness)
    : hex(COLOUR_RGB[scene.background]);
  const body = scene.objects.map((o) => objectSvg(o, size)).join('');
  const texture = scene.jitter ? textureSvg(scene.jitter, size) : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}"><rect width="${size}" height="${size}" fill="${bg}"/>${body}${texture}${overlay}</svg>`;
}

function objectSvg(o: SceneObject, size: number): string {
  const j = o.jitter;
  const { row, col } = POSITION_GRID[o.position];
  const cx = (CELL_CENTRES[col] as number) * size + (j?.dx ?? 0) * size;
  const cy = (CELL_CENTRES[row] as number) * size + (j?.dy ?? 0) * size;
  const r = RADIUS[o.size] * size * (j?.scale ?? 1);
  const rgb = COLOUR_RGB[o.colour];
  const paint = {
    fill: j ? shiftedHex(rgb, j.hue, j.lightness) : hex(rgb),
    stroke: outlineHex(rgb),
    strokeWidth: Math.max(1, size / 150),
  };
  const copies = COPIES[o.count];
  const copyR = r * copies.scale;
  const turn = ((j?.spread ?? 0) * Math.PI) / 180;
  const lo = copyR * REACH + paint.strokeWidth + 1;
  const hi = size - lo;
  return copies.offsets
    .map(([ux, uy]) => {
      const x = cx + r * (ux * Math.cos(turn) - uy * Math.sin(turn));
      const y = cy + r * (ux * Math.sin(turn) + uy * Math.cos(turn));
      return shapeSvg(o.shape, clamp(x, lo, hi), clamp(y, lo, hi), copyR, j?.rotation ?? 0, paint);
    })
    .join('');
}

function clamp(v: number, lo: number, hi: number): number {
  return lo > hi ? (lo + hi) / 2 : Math.min(hi, Math.max(lo, v));
}

/** A faint speckle laid over the whole picture, as a repeating pattern (cheap for librsvg). */
function textureSvg(jitter: SceneJitter, size: number): string {
  // An integer tile: librsvg tiles fractional pattern sizes cell by cell, about 8× slower.
  const tile = Math.max(4, Math.round(jitter.tile * size));
  const specks = jitter.specks
    .map(
      (s) =>
        `<circle cx="${(s.x * tile).toFixed(1)}" cy="${(s.y * tile).toFixed(1)}" r="${Math.max(0.5, s.r * tile).toFixed(1)}" fill="${s.dark ? '#000' : '#fff'}" fill-opacity="${s.opacity.toFixed(2)}"/>`,
    )
    .join('');
  return `<defs><pattern id="t" width="${tile}" height="${tile}" patternUnits="userSpaceOnUse">${specks}</pattern></defs><rect width="${size}" height="${size}" fill="url(#t)"/>`;
}
