import type { GenerateResult, ImageGenerator } from '../../../core/ports.ts';
import { createRng } from '../../../core/random.ts';
import { captionScene, completeScene, parseScene, renderScene } from '../../scene/index.ts';

export interface SketchGeneratorOptions {
  /** Side of the square PNG in pixels; default 256. */
  size?: number;
}

/**
 * The offline generator: reads the query as a scene and draws it. The seed only varies the
 * drawing (jitter), so regenerating shows the same scene drawn a little differently.
 */
export class SketchGenerator implements ImageGenerator {
  readonly id = 'sketch';
  readonly #size: number;

  constructor(options: SketchGeneratorOptions = {}) {
    this.#size = options.size ?? 256;
  }

  async generate(query: string, options: { seed: number; signal: AbortSignal }): Promise<GenerateResult> {
    options.signal.throwIfAborted();
    const scene = completeScene(parseScene(query));
    const png = await renderScene(scene, { size: this.#size, jitter: createRng(options.seed) });
    options.signal.throwIfAborted();
    return { png, seed: options.seed, interpretation: captionScene(scene), meta: { scene } };
  }
}
