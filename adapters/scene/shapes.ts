import type { Shape } from './vocabulary.ts';

export interface Paint {
  fill: string;
  stroke: string;
  strokeWidth: number;
}

const f = (n: number) => n.toFixed(1);

/** Points of a regular polygon (or a star when two radii alternate), first vertex at startDeg. */
function polygon(cx: number, cy: number, radii: number[], n: number, startDeg: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = ((startDeg + (360 * i) / n) * Math.PI) / 180;
    const r = radii[i % radii.length] as number;
    out.push(`${f(cx + r * Math.cos(a))},${f(cy + r * Math.sin(a))}`);
  }
  return out.join(' ');
}

function crossPoints(cx: number, cy: number, r: number): string {
  const a = 0.36 * r;
  const l = 1.05 * r;
  const pts = [
    [-a, -l],
    [a, -l],
    [a, -a],
    [l, -a],
    [l, a],
    [a, a],
    [a, l],
    [-a, l],
    [-a, a],
    [-l, a],
    [-l, -a],
    [-a, -a],
  ] as const;
  return pts.map(([x, y]) => `${f(cx + x)},${f(cy + y)}`).join(' ');
}

function circlePath(cx: number, cy: number, r: number): string {
  return `M${f(cx - r)} ${f(cy)}a${f(r)} ${f(r)} 0 1 0 ${f(2 * r)} 0a${f(r)} ${f(r)} 0 1 0 ${f(-2 * r)} 0Z`;
}

function heartPath(cx: number, cy: number, r: number): string {
  const p = (x: number, y: number) => `${f(cx + x * r)} ${f(cy + y * r)}`;
  return `M${p(0, 1)}C${p(-0.15, 0.85)} ${p(-1.25, 0.25)} ${p(-1.15, -0.35)}C${p(-1.05, -1)} ${p(-0.2, -1.05)} ${p(0, -0.5)}C${p(0.2, -1.05)} ${p(1.05, -1)} ${p(1.15, -0.35)}C${p(1.25, 0.25)} ${p(0.15, 0.85)} ${p(0, 1)}Z`;
}

/**
 * One shape as an SVG element, centred on (cx, cy); r is its nominal radius. Sizes are tuned so
 * every shape covers a similar area.
 */
export function shapeSvg(
  shape: Shape,
  cx: number,
  cy: number,
  r: number,
  rotation: number,
  paint: Paint,
): string {
  const style = `fill="${paint.fill}" stroke="${paint.stroke}" stroke-width="${f(paint.strokeWidth)}" stroke-linejoin="round"`;
  const turn = rotation ? ` transform="rotate(${f(rotation)} ${f(cx)} ${f(cy)})"` : '';
  switch (shape) {
    case 'circle':
      return `<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" ${style}/>`;
    case 'ring':
      return `<path fill-rule="evenodd" d="${circlePath(cx, cy, r * 1.05)}${circlePath(cx, cy, r * 0.58)}" ${style}/>`;
    case 'square':
      return `<polygon points="${polygon(cx, cy, [r * 1.2], 4, 45)}" ${style}${turn}/>`;
    case 'diamond':
      return `<polygon points="${polygon(cx, cy, [r * 1.3, r * 0.85], 4, -90)}" ${style}${turn}/>`;
    case 'triangle':
      return `<polygon points="${polygon(cx, cy + r * 0.15, [r * 1.35], 3, -90)}" ${style}${turn}/>`;
    case 'pentagon':
      return `<polygon points="${polygon(cx, cy, [r * 1.12], 5, -90)}" ${style}${turn}/>`;
    case 'hexagon':
      return `<polygon points="${polygon(cx, cy, [r * 1.08], 6, 0)}" ${style}${turn}/>`;
    case 'star':
      return `<polygon points="${polygon(cx, cy, [r * 1.3, r * 0.55], 10, -90)}" ${style}${turn}/>`;
    case 'cross':
      return `<polygon points="${crossPoints(cx, cy, r)}" ${style}${turn}/>`;
    case 'heart':
      return `<path d="${heartPath(cx, cy, r)}" ${style}${turn}/>`;
  }
}
