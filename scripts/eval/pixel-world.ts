/**
 * The default world of `genir eval`: the scene gallery (flat or photo-style, optionally crowded),
 * the bot as shipped offline (rule refiner, sketch generator with optional failure modes, tiny
 * encoder) and perceiving users who get only what their condition shows, as PNGs or query text.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { OnnxImageEncoder } from '../../adapters/encode/onnx/encoder.ts';
import { type SketchErrors, SketchGenerator } from '../../adapters/generate/sketch/index.ts';
import type { Progress } from '../../adapters/progress/index.ts';
import { RuleRefiner } from '../../adapters/refine/rules/index.ts';
import type { RenderStyle } from '../../adapters/scene/index.ts';
import { openSqliteStores } from '../../adapters/store/sqlite/index.ts';
import type { Config } from '../../bots/config.ts';
import { loadEncoder } from '../../bots/encoder.ts';
import { ensureEvalGallery } from './gallery.ts';
import { type Percept, perceive } from './perception.ts';
import { PerceivingUser, type PerceptionNoise, type Seen } from './pixel-user.ts';
import type { Condition } from './run.ts';
import { readQuery } from './text-reader.ts';
import type { BotTurn, SimulatedUser } from './users.ts';
import { type OpenedWorld, sampleTargets, targetPng } from './worlds.ts';

export interface PixelWorldOptions {
  config: Config;
  size: number;
  gallerySeed: number;
  style: RenderStyle;
  crowd: number;
  targets: number;
  seed: number;
  noise: PerceptionNoise;
  errors: Partial<SketchErrors>;
  dataDir?: string;
  encoder?: OnnxImageEncoder;
  progress?: Progress;
}

/** perceive() with a cache by PNG content: gallery tiles come back round after round. */
export function cachedPerceiver(limit = 100_000): (png: Buffer) => Promise<Percept> {
  const cache = new Map<string, Promise<Percept>>();
  return (png) => {
    const key = createHash('sha1').update(png).digest('base64');
    let hit = cache.get(key);
    if (!hit) {
      if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
      hit = perceive(png);
      cache.set(key, hit);
    }
    return hit;
  };
}

/** Hands a perceiving user exactly what its condition shows of a bot round. */
class ChannelUser implements SimulatedUser {
  readonly kind = 'perceiving';
  private drawing: Buffer | null = null;

  constructor(
    private readonly user: PerceivingUser,
    private readonly channel: Condition['channel'],
    private readonly tilePng: (assetId: string) => Promise<Buffer>,
  ) {}

  async describe(): Promise<string> {
    return this.user.describe();
  }

  async respond(turn: BotTurn): Promise<string> {
    return this.user.respond(await this.seen(turn));
  }

  async closerMatch(turn: BotTurn): Promise<number | null> {
    const drawing = this.latestDrawing(turn);
    if (!drawing) return null;
    return this.user.closerMatch(drawing, await this.tiles(turn));
  }

  private latestDrawing(turn: BotTurn): Buffer | null {
    // A round that reused the previous picture shows the same drawing again.
    if (turn.syntheticPng) this.drawing = turn.syntheticPng;
    return this.drawing;
  }

  private tiles(turn: BotTurn): Promise<Buffer[]> {
    return Promise.all(turn.tiles.map((t) => this.tilePng(t.assetId)));
  }

  private async seen(turn: BotTurn): Promise<Seen> {
    if (this.channel === 'text' || (this.channel === 'routed' && !turn.syntheticPng))
      return { kind: 'text', text: turn.query };
    if (this.channel === 'matches') return { kind: 'matches', pngs: await this.tiles(turn) };
    const png = this.latestDrawing(turn);
    if (!png) throw new Error(`round ${turn.round} has no synthetic image to look at`);
    return { kind: 'image', png };
  }
}

export async function openPixelWorld(options: PixelWorldOptions): Promise<OpenedWorld> {
  const crowd = options.crowd > 0 ? `-crowd${options.crowd}` : '';
  const dataDir = options.dataDir ?? join('data', `eval-${options.size}-${options.style}${crowd}`);
  const encoder = options.encoder ?? (await loadEncoder(options.config));
  const stores = openSqliteStores(join(dataDir, 'genir.db'));
  try {
    const gallery = await ensureEvalGallery(
      dataDir,
      { size: options.size, seed: options.gallerySeed, style: options.style, crowd: options.crowd },
      encoder,
      stores,
      options.progress,
    );
    const see = cachedPerceiver();
    const png = (id: string) => targetPng(stores.gallery, id);
    return {
      description: {
        world: 'scenes',
        user: 'perceiving (pixels only)',
        size: options.size,
        gallerySeed: options.gallerySeed,
        style: options.style,
        crowd: options.crowd,
        noise: options.noise,
        generatorErrors: options.errors,
      },
      index: gallery.index,
      gallery: stores.gallery,
      refiner: new RuleRefiner(),
      generator: new SketchGenerator({ errors: options.errors }),
      encoder,
      targets: sampleTargets(gallery.ids, options.targets, options.seed),
      async makeUser(targetId, condition, seed) {
        const user = await PerceivingUser.fromPng(await png(targetId), {
          seed,
          noise: options.noise,
          perceive: see,
          readText: readQuery,
        });
        return new ChannelUser(user, condition.channel, png);
      },
      async close() {
        await gallery.index.flush();
        stores.db.close();
      },
    };
  } catch (err) {
    stores.db.close();
    throw err;
  }
}
