import type { GenerateResult, ImageGenerator } from '../../../core/ports.ts';
import { createRng } from '../../../core/random.ts';
import { captionScene, parseScene, renderScene } from '../../scene/index.ts';
import { errScene, NO_ERRORS, type SketchErrors } from './errors.ts';

export { NO_ERRORS, type SketchErrors } from './errors.ts';

export interface SketchGeneratorOptions {
  /** Side of the square PNG in pixels; default 256. */
  size?: number;
  /** Rates of the failure modes of real generators (default none: draws exactly what it read). */
  errors?: Partial<SketchErrors>;
}

/**
 * The offline generator: reads the query as a scene and draws it. The seed varies the drawing
 * (jitter) and, when error rates are set, which mistakes it makes.
 */
export class SketchGenerator implements ImageGenerator {
  readonly id: string;
  readonly #size: number;
  readonly #errors: SketchErrors;

  constructor(options: SketchGeneratorOptions = {}) {
    this.#size = options.size ?? 256;
    this.#errors = { ...NO_ERRORS, ...options.errors };
    for (const [name, rate] of Object.entries(this.#errors)) {
      if (!(rate >= 0 && rate <= 1))
        throw new RangeError(`sketch error rate ${name} must be in 0..1, got ${rate}`);
    }
    const erring = Object.entries(this.#errors).filter(([, r]) => r > 0);
    this.id =
      erring.length === 0 ? 'sketch' : `sketch+errors(${erring.map(([n, r]) => `${n}=${r}`).join(',')})`;
  }

  async generate(query: string, options: { seed: number; signal: AbortSignal }): Promise<GenerateResult> {
    options.signal.throwIfAborted();
    const scene = errScene(parseScene(query), this.#errors, createRng(options.seed ^ 0x5bd1e995));
    const png = await renderScene(scene, { size: this.#size, jitter: createRng(options.seed) });
    options.signal.throwIfAborted();
    return { png, seed: options.seed, interpretation: captionScene(scene), meta: { scene } };
  }
}
