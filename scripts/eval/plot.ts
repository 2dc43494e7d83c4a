/** A small line chart (SVG, rendered to PNG with sharp): one line per condition over the rounds. */
import sharp from 'sharp';
import { FONT_FAMILY } from '../../adapters/pictures/sharp/render.ts';
import { escapeXml } from '../../adapters/pictures/sharp/svg-text.ts';

export interface Series {
  label: string;
  /** One value per round (x = 0, 1, 2, …), in the units of the y axis. */
  values: number[];
}

export interface LinePlot {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
}

/** Colour-blind-safe line colours (Okabe–Ito), then dash patterns when there are more lines. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999'];
/** Dash pattern per line, so overlapping lines stay apart. */
const DASHES = ['', '', '7 4', '2 3', '9 3 2 3', '5 2', '1 2', '12 3'];
const MARKERS = ['circle', 'square', 'diamond', 'triangle'] as const;

const f = (n: number) => (Math.round(n * 10) / 10).toString();

function marker(kind: (typeof MARKERS)[number], x: number, y: number, colour: string): string {
  const r = 4;
  switch (kind) {
    case 'circle':
      return `<circle cx="${f(x)}" cy="${f(y)}" r="${r}" fill="${colour}"/>`;
    case 'square':
      return `<rect x="${f(x - r)}" y="${f(y - r)}" width="${2 * r}" height="${2 * r}" fill="${colour}"/>`;
    case 'diamond':
      return `<polygon points="${f(x)},${f(y - r - 1)} ${f(x + r + 1)},${f(y)} ${f(x)},${f(y + r + 1)} ${f(x - r - 1)},${f(y)}" fill="${colour}"/>`;
    case 'triangle':
      return `<polygon points="${f(x)},${f(y - r - 1)} ${f(x + r + 1)},${f(y + r)} ${f(x - r - 1)},${f(y + r)}" fill="${colour}"/>`;
  }
}

/** "Nice" tick step for a range, aiming at about `count` ticks. */
export function tickStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const n = raw / magnitude;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
}

/** What both charts share: size, titles, axes and their labels. */
interface Frame {
  title: string;
  subtitle?: string | undefined;
  xLabel: string;
  yLabel: string;
  width?: number | undefined;
  height?: number | undefined;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  xTicks: number[];
  /** Vertical grid lines at the x ticks. */
  xGrid: boolean;
}

const svgText = (tx: number, ty: number, s: string, attrs = '') =>
  `<text x="${f(tx)}" y="${f(ty)}" font-family="${FONT_FAMILY}" ${attrs}>${escapeXml(s)}</text>`;

/** The chart's frame (background, titles, grid, axes and their labels), its scales and where the legend goes. */
function drawFrame(frame: Frame) {
  const width = frame.width ?? 900;
  const height = frame.height ?? 560;
  const legendWidth = 250;
  const margin = { left: 72, right: legendWidth + 24, top: frame.subtitle ? 70 : 52, bottom: 64 };
  const w = width - margin.left - margin.right;
  const h = height - margin.top - margin.bottom;
  const { xMin, xMax, yMin, yMax } = frame;
  const x = (v: number) => margin.left + ((v - xMin) / (xMax - xMin || 1)) * w;
  const y = (v: number) => margin.top + h - ((v - yMin) / (yMax - yMin || 1)) * h;
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="#ffffff"/>`];
  parts.push(svgText(margin.left, 30, frame.title, 'font-size="19" font-weight="bold" fill="#111"'));
  if (frame.subtitle) parts.push(svgText(margin.left, 52, frame.subtitle, 'font-size="13" fill="#555"'));
  const yStep = tickStep(yMax - yMin, 5);
  for (let v = Math.ceil(yMin / yStep) * yStep; v <= yMax + 1e-9; v += yStep) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + w}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#e3e3e3"/>`,
    );
    parts.push(
      svgText(
        margin.left - 8,
        y(v) + 4,
        String(Math.round(v * 100) / 100),
        'font-size="12" fill="#333" text-anchor="end"',
      ),
    );
  }
  for (const v of frame.xTicks) {
    parts.push(
      frame.xGrid
        ? `<line x1="${f(x(v))}" x2="${f(x(v))}" y1="${margin.top}" y2="${margin.top + h}" stroke="#eeeeee"/>`
        : `<line x1="${f(x(v))}" x2="${f(x(v))}" y1="${margin.top + h}" y2="${margin.top + h + 5}" stroke="#333"/>`,
    );
    parts.push(
      svgText(
        x(v),
        margin.top + h + 20,
        String(Math.round(v * 100) / 100),
        'font-size="12" fill="#333" text-anchor="middle"',
      ),
    );
  }
  parts.push(
    `<path d="M${margin.left} ${margin.top}V${margin.top + h}H${margin.left + w}" fill="none" stroke="#333" stroke-width="1.2"/>`,
  );
  parts.push(
    svgText(
      margin.left + w / 2,
      height - 18,
      frame.xLabel,
      'font-size="14" fill="#111" text-anchor="middle"',
    ),
  );
  const yl = { x: 22, y: margin.top + h / 2 };
  parts.push(
    svgText(
      yl.x,
      yl.y,
      frame.yLabel,
      `font-size="14" fill="#111" text-anchor="middle" transform="rotate(-90 ${yl.x} ${f(yl.y)})"`,
    ),
  );
  const legend = (i: number) => ({ x: margin.left + w + 28, y: margin.top + 10 + i * 26 });
  const close = () =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
  return { parts, x, y, legend, close, top: margin.top, bottom: margin.top + h };
}

/** Ticks from `min` to `max` by `step`. */
function ticks(min: number, max: number, step: number): number[] {
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(v);
  return out;
}

export function linePlotSvg(plot: LinePlot): string {
  const rounds = Math.max(1, ...plot.series.map((s) => s.values.length)) - 1;
  const fr = drawFrame({
    ...plot,
    // One round alone sits in the middle.
    xMin: rounds === 0 ? -1 : 0,
    xMax: rounds === 0 ? 1 : rounds,
    yMin: plot.yMin ?? 0,
    yMax: plot.yMax ?? Math.max(1, ...plot.series.flatMap((s) => s.values)),
    // x ticks: every round when few, else a nice step.
    xTicks: ticks(0, rounds, rounds <= 12 ? 1 : tickStep(rounds, 10)),
    xGrid: false,
  });
  plot.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const dash = DASHES[i % DASHES.length] as string;
    const mark = MARKERS[i % MARKERS.length] as (typeof MARKERS)[number];
    const points = s.values.map((v, t) => `${f(fr.x(t))},${f(fr.y(v))}`).join(' ');
    fr.parts.push(
      `<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2.4" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    for (const [t, v] of s.values.entries()) fr.parts.push(marker(mark, fr.x(t), fr.y(v), colour));
    const { x: lx, y: ly } = fr.legend(i);
    fr.parts.push(
      `<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2.4"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    fr.parts.push(marker(mark, lx + 15, ly, colour));
    fr.parts.push(svgText(lx + 38, ly + 4, s.label, 'font-size="13" fill="#111"'));
  });
  return fr.close();
}

export async function renderLinePlot(plot: LinePlot): Promise<Buffer> {
  return sharp(Buffer.from(linePlotSvg(plot)))
    .png()
    .toBuffer();
}

export interface ScatterPoint {
  label: string;
  x: number;
  y: number;
  /** 95 % CI of y, drawn as a vertical bar. */
  yLow?: number;
  yHigh?: number;
  /** CI of x, drawn as a horizontal bar. */
  xLow?: number;
  xHigh?: number;
}

export interface ScatterPlot {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** A dashed vertical line with its label (e.g. a cost target). */
  xMarker?: { x: number; label: string };
}

/** Points with CI bars (e.g. quality against cost, one point per condition) and a legend. */
export function scatterPlotSvg(plot: ScatterPlot): string {
  const xs = plot.points.flatMap((p) => [p.x, p.xLow ?? p.x, p.xHigh ?? p.x]);
  const ys = plot.points.flatMap((p) => [p.y, p.yLow ?? p.y, p.yHigh ?? p.y]);
  const xMin = plot.xMin ?? Math.min(0, ...xs);
  const xMax = plot.xMax ?? Math.max(1, ...xs);
  const fr = drawFrame({
    ...plot,
    xMin,
    xMax,
    yMin: plot.yMin ?? Math.min(...ys),
    yMax: plot.yMax ?? Math.max(...ys),
    xTicks: ticks(xMin, xMax, tickStep(xMax - xMin, 8)),
    xGrid: true,
  });
  const { x, y, parts } = fr;
  if (plot.xMarker) {
    const mx = x(plot.xMarker.x);
    parts.push(
      `<line x1="${f(mx)}" x2="${f(mx)}" y1="${fr.top}" y2="${fr.bottom}" stroke="#555" stroke-dasharray="6 4"/>`,
    );
    parts.push(svgText(mx + 6, fr.top + 14, plot.xMarker.label, 'font-size="12" fill="#555"'));
  }
  plot.points.forEach((p, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const mark = MARKERS[i % MARKERS.length] as (typeof MARKERS)[number];
    if (p.yLow !== undefined && p.yHigh !== undefined)
      parts.push(
        `<line x1="${f(x(p.x))}" x2="${f(x(p.x))}" y1="${f(y(p.yLow))}" y2="${f(y(p.yHigh))}" stroke="${colour}" stroke-width="1.6"/>`,
      );
    if (p.xLow !== undefined && p.xHigh !== undefined)
      parts.push(
        `<line x1="${f(x(p.xLow))}" x2="${f(x(p.xHigh))}" y1="${f(y(p.y))}" y2="${f(y(p.y))}" stroke="${colour}" stroke-width="1.6"/>`,
      );
    parts.push(marker(mark, x(p.x), y(p.y), colour));
    const { x: lx, y: ly } = fr.legend(i);
    parts.push(marker(mark, lx + 15, ly, colour));
    parts.push(svgText(lx + 30, ly + 4, p.label, 'font-size="13" fill="#111"'));
  });
  return fr.close();
}

export async function renderScatterPlot(plot: ScatterPlot): Promise<Buffer> {
  return sharp(Buffer.from(scatterPlotSvg(plot)))
    .png()
    .toBuffer();
}
