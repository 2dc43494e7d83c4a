/**
 * Builds the embedded offline image encoder: models/tiny-encoder.onnx + models/tiny-encoder.json.
 * Run: npx tsx scripts/build-tiny-encoder.ts [outDir]
 *
 * Fixed weights, no training. Input `pixel_values` [N,3,S,S] float32, already normalized with
 * mean 0.5 / std 0.5 (so pixels are in [-1, 1] and mid-gray is 0); output `image_embeds` [N,D],
 * the same tensor names as CLIP's ONNX export, so it runs through the same OnnxImageEncoder.
 *
 * Graph (S = 64, B = 8 orientation bins; dim = 27 + 192 + 12·16 + 12 = 423):
 *   hist   = Pow(GlobalAvgPool(Softmax_c(Conv1x1(x))), ½)      [N,27]  soft colour histogram over a
 *            3×3×3 RGB prototype grid (position-free: background and object colours), Hellinger sqrt
 *   opp    = Conv1x1(x)                                         [N,3,S,S] opponent colour:
 *            (R−G)/√2, (R+G−2B)/√6, 0.7·(R+G+B)/√3 — mid-gray is 0
 *   layout = signed√(AvgPool16/8(opp − GlobalAvgPool(opp)))     [N,3,8,8] colour layout relative to
 *            the mean colour, overlapping 16×16 windows at stride 8; the signed square root keeps
 *            small shapes visible next to large ones
 *   grad   = Abs(Conv3x3_group3(Pad_edge(opp)))                 [N,24,S,S] |cos θ·Sobel_x + sin θ·Sobel_y|
 *            per opponent channel, θ = 0°, 22.5°, … 157.5° (edge padding: no border edges)
 *   energy = Relu(Conv1x1(grad))                                [N,8,S,S] orientation tuning
 *            (Σ_c |g_c|)(|cos Δ| − cot(22.5°)|sin Δ|)₊, summed over the opponent channels
 *   corner = 2·√(E_θ · E_θ+90°), E = AvgPool5x5(energy)         [N,4,S,S] orthogonal orientations
 *            meeting in a 5×5 window: corners of squares, stars, crosses, triangles, not of circles
 *   orient = Concat(energy, corner)                             [N,12,S,S]
 *   edges  = Pow(AvgPool16(orient), ½)                          [N,12,4,4] edge/corner layout
 *   ohist  = GlobalAvgPool(orient)                              [N,12]     position-free shape cue
 *   out    = LpNorm(Concat(w_b · LpNorm(Flatten(block_b))))     blocks hist, layout, edges, ohist
 * Each block is L2-normalized on its own and scaled by a fixed weight, so
 * cos(a, b) = Σ w_b²·cos_b(a, b) / Σ w_b²: the weights say directly how much colour palette, colour
 * layout, edge layout and shape type count (all 1: tuned on renderScene jitter vs one-attribute
 * changes; more weight on any block traded one attribute for another).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EncoderConfig } from '../adapters/encode/onnx/encoder.ts';
import { buildOnnxModel, type GraphNode, type Initializer } from '../adapters/encode/onnx/graph-builder.ts';

export interface TinyEncoderParams {
  size: number;
  /** Cells per side of the colour-layout grid. */
  colourGrid: number;
  /** Cells per side of the edge-orientation grid. */
  edgeGrid: number;
  /** Orientation bins over [0°, 180°) (even, so θ+90° is a bin). */
  orientations: number;
  /** Softmax temperature (σ) of the colour histogram's soft assignment. */
  histSigma: number;
  /** Weight of the corner channels (products of orthogonal orientation energies); 0 = none. */
  corners: number;
  /** Window (pixels, odd) over which orientation energies are pooled for the corner channels. */
  cornerWindow: number;
  /** Weight of luminance against the two chroma axes in the opponent transform. */
  lumaGain: number;
  /** Exponents of the (signed) powers applied to the blocks (1 = none). */
  powers: { hist: number; layout: number; edges: number };
  weights: { hist: number; layout: number; edges: number; orient: number };
}

export const TINY_ENCODER_PARAMS: TinyEncoderParams = {
  size: 64,
  colourGrid: 8,
  edgeGrid: 4,
  orientations: 8,
  histSigma: 0.35,
  corners: 2,
  cornerWindow: 5,
  lumaGain: 0.7,
  powers: { hist: 0.5, layout: 0.5, edges: 0.5 },
  weights: { hist: 1, layout: 1, edges: 1, orient: 1 },
};

export const TINY_ENCODER_ID = 'tiny-scene-v1';

/** 3-level RGB grid in the normalized [-1, 1] input space: the colour histogram's prototypes. */
const PROTOTYPES: [number, number, number][] = [];
for (const r of [-1, 0, 1])
  for (const g of [-1, 0, 1]) for (const b of [-1, 0, 1]) PROTOTYPES.push([r, g, b]);

export function tinyEncoderDim(p: TinyEncoderParams): number {
  return (
    PROTOTYPES.length +
    3 * p.colourGrid * p.colourGrid +
    ((3 * p.orientations) / 2) * (p.edgeGrid * p.edgeGrid + 1)
  );
}

export function tinyEncoderConfig(p: TinyEncoderParams = TINY_ENCODER_PARAMS): EncoderConfig {
  return {
    id: TINY_ENCODER_ID,
    dim: tinyEncoderDim(p),
    inputName: 'pixel_values',
    outputName: 'image_embeds',
    preprocessing: { size: p.size, resize: 'stretch', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  };
}

export function buildTinyEncoder(p: TinyEncoderParams = TINY_ENCODER_PARAMS): {
  model: Uint8Array;
  config: EncoderConfig;
} {
  if (p.size % p.colourGrid !== 0 || p.size % p.edgeGrid !== 0) throw new Error('grid must divide size');
  if (p.orientations % 2 !== 0) throw new Error('orientations must be even');
  const s2 = Math.SQRT2;
  const s6 = Math.sqrt(6);
  const s3 = Math.sqrt(3);
  const l = p.lumaGain;
  // 1×1 conv [3, 3]: rows are the opponent axes.
  const opponent = [1 / s2, -1 / s2, 0, 1 / s6, 1 / s6, -2 / s6, l / s3, l / s3, l / s3];

  // Colour histogram: softmax over prototypes of −‖x − p‖² / 2σ² = (p·x − ‖p‖²/2) / σ² + const.
  const inv = 1 / (p.histSigma * p.histSigma);
  const histW = PROTOTYPES.flatMap((q) => q.map((x) => x * inv));
  const histB = PROTOTYPES.map((q) => (-(q[0] ** 2 + q[1] ** 2 + q[2] ** 2) / 2) * inv);

  // Oriented gradients: kernel_θ = cos θ · Sobel_x + sin θ · Sobel_y (unit response on a unit step).
  const B = p.orientations;
  const sobelX = [-1, 0, 1, -2, 0, 2, -1, 0, 1];
  const sobelY = [-1, -2, -1, 0, 0, 0, 1, 2, 1];
  const gradW: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let o = 0; o < B; o++) {
      const t = (o * Math.PI) / B;
      // dense [3B, 3, 3, 3] conv, block-diagonal over the input channels (faster than group = 3)
      for (let ci = 0; ci < 3; ci++) {
        for (let i = 0; i < 9; i++)
          gradW.push(ci === c ? (Math.cos(t) * sobelX[i]! + Math.sin(t) * sobelY[i]!) / 4 : 0);
      }
    }
  }
  // Orientation tuning, summed over the opponent channels in the same 1×1 conv:
  // Σ_c |g_c·u_θ| − k·|g_c·u_θ+90°| = Σ_c |g_c|(|cos Δ| − k|sin Δ|), zero one bin (π/B) away.
  const k = 1 / Math.tan(Math.PI / B);
  const tuneW: number[] = [];
  for (let o = 0; o < B; o++) {
    for (let c = 0; c < 3; c++) {
      for (let o2 = 0; o2 < B; o2++) tuneW.push(o2 === o ? 1 : o2 === (o + B / 2) % B ? -k : 0);
    }
  }

  // Select channels [from, from + B/2) of the B orientation energies.
  function selectW(from: number): number[] {
    const out: number[] = [];
    for (let o = 0; o < B / 2; o++) for (let i = 0; i < B; i++) out.push(i === from + o ? 1 : 0);
    return out;
  }
  const cw = p.cornerWindow;

  const cg = p.size / p.colourGrid;
  const eg = p.size / p.edgeGrid;
  const w = p.weights;
  const initializers: Initializer[] = [
    { name: 'opponent_w', dims: [3, 3, 1, 1], data: opponent },
    { name: 'hist_w', dims: [PROTOTYPES.length, 3, 1, 1], data: histW },
    { name: 'hist_b', dims: [PROTOTYPES.length], data: histB },
    { name: 'edge_pads', dims: [8], data: [0, 0, 1, 1, 0, 0, 1, 1], type: 'int64' },
    { name: 'gradient_w', dims: [3 * B, 3, 3, 3], data: gradW },
    { name: 'tune_w', dims: [B, 3 * B, 1, 1], data: tuneW },
    { name: 'corner_a_w', dims: [B / 2, B, 1, 1], data: selectW(0) },
    { name: 'corner_b_w', dims: [B / 2, B, 1, 1], data: selectW(B / 2) },
    { name: 'corner_gain', dims: [], data: [p.corners] },

    { name: 'hist_power', dims: [], data: [p.powers.hist] },
    { name: 'layout_power', dims: [], data: [p.powers.layout] },
    { name: 'edges_power', dims: [], data: [p.powers.edges] },
    { name: 'w_hist', dims: [], data: [w.hist] },
    { name: 'w_layout', dims: [], data: [w.layout] },
    { name: 'w_edges', dims: [], data: [w.edges] },
    { name: 'w_orient', dims: [], data: [w.orient] },
  ];
  const signedPower = (input: string, power: string, out: string): GraphNode[] => [
    { op: 'Abs', inputs: [input], outputs: [`${out}_abs`] },
    { op: 'Sign', inputs: [input], outputs: [`${out}_sign`] },
    { op: 'Pow', inputs: [`${out}_abs`, power], outputs: [`${out}_mag`] },
    { op: 'Mul', inputs: [`${out}_sign`, `${out}_mag`], outputs: [out] },
  ];
  const nodes: GraphNode[] = [
    // colour histogram (position-free), at half resolution (enough for colour statistics)
    {
      op: 'AveragePool',
      inputs: ['pixel_values'],
      outputs: ['pixels_half'],
      attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    },
    // soft assignment to 27 RGB prototypes, averaged
    {
      op: 'Conv',
      inputs: ['pixels_half', 'hist_w', 'hist_b'],
      outputs: ['hist_logits'],
      attrs: { kernel_shape: [1, 1] },
    },
    { op: 'Softmax', inputs: ['hist_logits'], outputs: ['hist_assign'], attrs: { axis: 1 } },
    { op: 'GlobalAveragePool', inputs: ['hist_assign'], outputs: ['hist_mean'] },
    { op: 'Pow', inputs: ['hist_mean', 'hist_power'], outputs: ['hist'] },
    // colour layout: opponent colour minus its image mean, on an overlapping coarse grid
    { op: 'Conv', inputs: ['pixel_values', 'opponent_w'], outputs: ['opp'], attrs: { kernel_shape: [1, 1] } },
    { op: 'GlobalAveragePool', inputs: ['opp'], outputs: ['opp_mean'] },
    { op: 'Sub', inputs: ['opp', 'opp_mean'], outputs: ['opp_dev'] },
    {
      op: 'AveragePool',
      inputs: ['opp_dev'],
      outputs: ['layout_grid'],
      attrs: { kernel_shape: [2 * cg, 2 * cg], strides: [cg, cg], pads: [cg / 2, cg / 2, cg / 2, cg / 2] },
    },
    ...signedPower('layout_grid', 'layout_power', 'layout'),
    // edges: oriented gradient energy per opponent channel, sharpened, summed over channels
    { op: 'Pad', inputs: ['opp', 'edge_pads'], outputs: ['opp_padded'], attrs: { mode: 'edge' } },
    {
      op: 'Conv',
      inputs: ['opp_padded', 'gradient_w'],
      outputs: ['grad'],
      attrs: { kernel_shape: [3, 3] },
    },
    { op: 'Abs', inputs: ['grad'], outputs: ['grad_abs'] },
    {
      op: 'Conv',
      inputs: ['grad_abs', 'tune_w'],
      outputs: ['energy_tuned'],
      attrs: { kernel_shape: [1, 1] },
    },
    { op: 'Relu', inputs: ['energy_tuned'], outputs: ['orient_energy'] },
    // corners: where orthogonal orientations meet within a small window, √(E_θ·E_θ+90°)
    {
      op: 'AveragePool',
      inputs: ['orient_energy'],
      outputs: ['energy_local'],
      attrs: { kernel_shape: [cw, cw], strides: [1, 1], pads: [cw >> 1, cw >> 1, cw >> 1, cw >> 1] },
    },
    {
      op: 'Conv',
      inputs: ['energy_local', 'corner_a_w'],
      outputs: ['corner_a'],
      attrs: { kernel_shape: [1, 1] },
    },
    {
      op: 'Conv',
      inputs: ['energy_local', 'corner_b_w'],
      outputs: ['corner_b'],
      attrs: { kernel_shape: [1, 1] },
    },
    { op: 'Mul', inputs: ['corner_a', 'corner_b'], outputs: ['corner_sq'] },
    { op: 'Sqrt', inputs: ['corner_sq'], outputs: ['corner_raw'] },
    { op: 'Mul', inputs: ['corner_raw', 'corner_gain'], outputs: ['corner'] },
    { op: 'Concat', inputs: ['orient_energy', 'corner'], outputs: ['orient'], attrs: { axis: 1 } },
    {
      op: 'AveragePool',
      inputs: ['orient'],
      outputs: ['edge_grid'],
      attrs: { kernel_shape: [eg, eg], strides: [eg, eg] },
    },
    { op: 'Pow', inputs: ['edge_grid', 'edges_power'], outputs: ['edges'] },
    { op: 'GlobalAveragePool', inputs: ['orient'], outputs: ['orient_hist'] },
  ];
  const blocks: [string, string][] = [
    ['hist', 'w_hist'],
    ['layout', 'w_layout'],
    ['edges', 'w_edges'],
    ['orient_hist', 'w_orient'],
  ];
  const weighted: string[] = [];
  for (const [name, weight] of blocks) {
    nodes.push(
      { op: 'Flatten', inputs: [name], outputs: [`${name}_flat`], attrs: { axis: 1 } },
      {
        op: 'LpNormalization',
        inputs: [`${name}_flat`],
        outputs: [`${name}_unit`],
        attrs: { axis: 1, p: 2 },
      },
      { op: 'Mul', inputs: [`${name}_unit`, weight], outputs: [`${name}_weighted`] },
    );
    weighted.push(`${name}_weighted`);
  }
  nodes.push(
    { op: 'Concat', inputs: weighted, outputs: ['features'], attrs: { axis: 1 } },
    { op: 'LpNormalization', inputs: ['features'], outputs: ['image_embeds'], attrs: { axis: 1, p: 2 } },
  );
  const config = tinyEncoderConfig(p);
  const model = buildOnnxModel({
    name: TINY_ENCODER_ID,
    docString:
      'genir-chat tiny fixed-weight scene encoder: colour histogram, colour layout, edge orientations',
    opset: 13,
    inputs: [{ name: 'pixel_values', dims: ['batch', 3, p.size, p.size] }],
    outputs: [{ name: 'image_embeds', dims: ['batch', config.dim] }],
    initializers,
    nodes,
  });
  return { model, config };
}

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? 'models');
  const { model, config } = buildTinyEncoder();
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'tiny-encoder.onnx'), model);
  await writeFile(join(outDir, 'tiny-encoder.json'), `${JSON.stringify(config, null, 2)}\n`);
  console.log(`wrote ${join(outDir, 'tiny-encoder.onnx')} (${model.length} bytes, dim ${config.dim})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
