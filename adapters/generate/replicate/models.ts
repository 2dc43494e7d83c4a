/**
 * Our generation options → the inputs of common Replicate model families. Each family names its
 * own knobs (FLUX: aspect_ratio/megapixels/num_inference_steps/guidance; SD 3.5: steps/cfg;
 * SDXL-style: width/height/num_inference_steps/guidance_scale); any other model gets only
 * prompt + seed, plus whatever REPLICATE_INPUT (raw JSON) adds. REPLICATE_INPUT may override every
 * mapped value except the prompt and the seed, which always come from the round.
 */

export interface GenerationOptions {
  seed: number;
  /** Requested size, e.g. from IMAGE_SIZE=1024x1024. */
  width: number;
  height: number;
  /** Sampler steps and guidance, when configured (model defaults otherwise). */
  steps?: number | undefined;
  guidance?: number | undefined;
  outputFormat: 'png' | 'webp' | 'jpg';
}

export interface ModelFamily {
  id: string;
  /** Does this family handle "owner/name" (version stripped)? */
  matches(model: string): boolean;
  input(prompt: string, o: GenerationOptions): Record<string, unknown>;
}

/** The aspect ratios FLUX and SD 3.5 accept. */
export const ASPECT_RATIOS = [
  '1:1',
  '16:9',
  '21:9',
  '3:2',
  '2:3',
  '4:5',
  '5:4',
  '3:4',
  '4:3',
  '9:16',
  '9:21',
] as const;

/** The accepted ratio closest to width:height (by log ratio). */
export function nearestAspectRatio(width: number, height: number): string {
  const target = Math.log(width / height);
  let best: string = ASPECT_RATIOS[0];
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const ratio of ASPECT_RATIOS) {
    const [w, h] = ratio.split(':').map(Number) as [number, number];
    const distance = Math.abs(Math.log(w / h) - target);
    if (distance < bestDistance) {
      best = ratio;
      bestDistance = distance;
    }
  }
  return best;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const optional = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
/** FLUX on Replicate offers 1 MP or 0.25 MP outputs. */
const megapixels = (o: GenerationOptions) => (o.width * o.height >= 600_000 ? '1' : '0.25');
/** Replicate seeds are 32-bit. */
const seed32 = (seed: number) => seed >>> 0;

/** What FLUX schnell and dev both take; they differ in how many steps they allow. */
const fluxInput = (prompt: string, o: GenerationOptions, maxSteps: number) => ({
  prompt,
  seed: seed32(o.seed),
  aspect_ratio: nearestAspectRatio(o.width, o.height),
  megapixels: megapixels(o),
  num_outputs: 1,
  output_format: o.outputFormat,
  ...optional(
    'num_inference_steps',
    o.steps === undefined ? undefined : clamp(Math.round(o.steps), 1, maxSteps),
  ),
});

export const FAMILIES: ModelFamily[] = [
  {
    id: 'flux-schnell',
    matches: (m) => /flux[-.]?schnell/i.test(m),
    input: (prompt, o) => fluxInput(prompt, o, 4),
  },
  {
    id: 'flux-dev',
    matches: (m) => /flux[-.]?dev/i.test(m),
    input: (prompt, o) => ({
      ...fluxInput(prompt, o, 50),
      ...optional('guidance', o.guidance === undefined ? undefined : clamp(o.guidance, 0, 10)),
    }),
  },
  {
    id: 'flux-pro',
    matches: (m) => /flux-(?:1\.1-)?pro/i.test(m),
    input: (prompt, o) => ({
      prompt,
      seed: seed32(o.seed),
      aspect_ratio: nearestAspectRatio(o.width, o.height),
      output_format: o.outputFormat,
    }),
  },
  {
    id: 'sd-3.5',
    matches: (m) => /stable-diffusion-3\.5/i.test(m),
    input: (prompt, o) => ({
      prompt,
      seed: seed32(o.seed),
      aspect_ratio: nearestAspectRatio(o.width, o.height),
      output_format: o.outputFormat,
      ...optional('steps', o.steps === undefined ? undefined : clamp(Math.round(o.steps), 1, 50)),
      ...optional('cfg', o.guidance === undefined ? undefined : clamp(o.guidance, 0, 20)),
    }),
  },
  {
    id: 'sdxl',
    matches: (m) => /sdxl|stable-diffusion-xl/i.test(m),
    input: (prompt, o) => ({
      prompt,
      seed: seed32(o.seed),
      width: o.width,
      height: o.height,
      num_outputs: 1,
      ...optional(
        'num_inference_steps',
        o.steps === undefined ? undefined : clamp(Math.round(o.steps), 1, 500),
      ),
      ...optional('guidance_scale', o.guidance === undefined ? undefined : clamp(o.guidance, 1, 50)),
    }),
  },
];

const GENERIC: ModelFamily = {
  id: 'generic',
  matches: () => true,
  input: (prompt, o) => ({ prompt, seed: seed32(o.seed) }),
};

export function familyOf(model: string): ModelFamily {
  const name = model.split(':')[0] as string;
  return FAMILIES.find((f) => f.matches(name)) ?? GENERIC;
}

/** The model's input for this round: family mapping, then REPLICATE_INPUT, then prompt + seed. */
export function buildInput(
  model: string,
  prompt: string,
  o: GenerationOptions,
  raw: Record<string, unknown> = {},
): Record<string, unknown> {
  const mapped = familyOf(model).input(prompt, o);
  return { ...mapped, ...raw, prompt, seed: mapped.seed };
}

/** "1024x1024" → {width, height}. */
export function parseSize(size: string): { width: number; height: number } {
  const m = /^(\d{2,5})x(\d{2,5})$/.exec(size.trim());
  if (!m) return { width: 1024, height: 1024 };
  return { width: Number(m[1]), height: Number(m[2]) };
}
