/**
 * `genir eval`: simulated users talk to the real ConversationEngine, round after round, for every
 * target of a query set and every condition; the target's rank in the whole gallery is measured
 * with the very vector each round searched with.
 *
 * Output folder:
 *   run.json            what was run (a re-run with other settings is refused)
 *   results.jsonl       one dialogue per line, appended as each finishes (a re-run skips them)
 *   results.json/.csv/.md, plot.png   the metrics (written at the end)
 *   conditions/<name>/  the engine's state of each condition (SQLite, round images)
 *   transcripts/<name>/ every dialogue in the project's transcript format (adapters/store/transcript-export.ts)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharpPictures } from '../../adapters/pictures/sharp/index.ts';
import { type Progress, silentProgress } from '../../adapters/progress/index.ts';
import { FileRoundImageStore } from '../../adapters/store/files.ts';
import { openSqliteStores, type SqliteStores } from '../../adapters/store/sqlite/index.ts';
import { type ExportFormat, exportTranscripts, pseudonym } from '../../adapters/store/transcript-export.ts';
import { commandSet } from '../../commands/index.ts';
import { ConversationEngine } from '../../core/engine.ts';
import { oneGallery } from '../../core/galleries.ts';
import type {
  Gallery,
  ImageEncoder,
  ImageGenerator,
  Logger,
  QueryRefiner,
  RoundImageStore,
  SearchHit,
  VectorIndex,
} from '../../core/ports.ts';
import { DEFAULT_RANKING } from '../../core/ranking.ts';
import { encodeThreadKey } from '../../core/thread-key.ts';
import type { Reply, Round, ThreadSink } from '../../core/types.ts';
import { type Budget, BudgetExceededError } from './call-cache.ts';
import { CONDITION_NAMES, CONDITIONS, type Condition, type ConditionName } from './conditions.ts';
import { rankOf } from './metrics.ts';
import {
  conditionResult,
  type DialogueRecord,
  type EvalResults,
  type TurnRecord,
  writeReports,
} from './report.ts';
import {
  CountingGenerator,
  evalRouter,
  ROUTER_SPECS,
  type RouteLog,
  routeLog,
  routerSpecOf,
} from './routers.ts';
import { type BotTurn, type SimulatedUser, userSeed } from './users.ts';

export { CONDITION_NAMES, CONDITIONS, type Condition, type ConditionName } from './conditions.ts';

/** A condition by name: one of CONDITIONS, or a router condition; null when unknown. */
export function conditionOf(name: string): Condition | null {
  if (Object.hasOwn(CONDITIONS, name)) return CONDITIONS[name as keyof typeof CONDITIONS];
  const router = routerSpecOf(name);
  if (!router) return null;
  return {
    short: name,
    label: `${name}: the router decides each round whether to draw; the user sees the picture, or the query when none was drawn`,
    channel: 'routed',
    router,
    seenExclusion: false,
    relevanceFeedback: false,
    refine: true,
  };
}

/** Where an eval runs: a gallery, its index, the bot's providers, the targets and their users. */
export interface EvalWorld {
  /** Identifies the world in run.json (e.g. { world: 'scenes', size, gallerySeed }). */
  description: Record<string, unknown> & { world: string };
  index: VectorIndex;
  gallery: Gallery;
  refiner: QueryRefiner;
  fallbackRefiner?: QueryRefiner;
  generator: ImageGenerator;
  encoder: ImageEncoder;
  /** Gallery asset ids of the targets. */
  targets: string[];
  makeUser(targetId: string, condition: Condition, seed: number): Promise<SimulatedUser>;
}

export interface EvalOptions {
  out: string;
  /** Refinement rounds after round 0. */
  rounds: number;
  seed: number;
  conditions: ConditionName[];
  /** Dialogues run at once (different threads of the engine). */
  concurrency?: number;
  topK?: number;
  /** Transcript export format; 'off' skips the export. */
  transcripts?: ExportFormat | 'off';
  /**
   * 'headless' (default) skips decoding gallery files and the captioned synthetic picture when
   * the engine builds each round's chat view (nobody looks at it); 'full' renders everything.
   */
  views?: 'headless' | 'full';
  /** Start over: delete this run's earlier output in `out`. */
  fresh?: boolean;
  progress?: Progress;
  log?: (line: string) => void;
  /** Salt of the transcript dialogue ids. */
  salt?: string;
  /**
   * The spending limit of the world's paid calls: when a call is refused, the dialogue in progress
   * is dropped (its calls are cached), no new one starts, and runEval throws BudgetExceededError.
   */
  budget?: Budget;
  /** The learned router's weights (router=learned); default models/router-v1.json. */
  routerModel?: string;
  /** Router conditions log the target's rank for both choices of every decision (training data). */
  routerProbe?: boolean;
}

export interface EvalSummary {
  results: EvalResults;
  /** Every dialogue of the run, condition by condition in target order. */
  records: DialogueRecord[];
  files: Record<string, string>;
  /** Dialogues run now (the rest came from an earlier, interrupted run). */
  ran: number;
  skipped: number;
  seconds: number;
}

const USER_ID = 'simulated-user';
const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** The search each round of a dialogue made, told apart by async context (dialogues run concurrently). */
interface SearchLog {
  searches: { vector: Float32Array; exclude: ReadonlySet<string> }[];
}
const searchLog = new AsyncLocalStorage<SearchLog>();

/** The engine's index: the real one, remembering each search's vector and exclusions. */
class RecordingIndex implements VectorIndex {
  constructor(private readonly inner: VectorIndex) {}
  get header() {
    return this.inner.header;
  }
  async search(
    vector: Float32Array,
    k: number,
    options?: { exclude?: ReadonlySet<string> },
  ): Promise<SearchHit[]> {
    searchLog
      .getStore()
      ?.searches.push({ vector: Float32Array.from(vector), exclude: new Set(options?.exclude ?? []) });
    return this.inner.search(vector, k, options);
  }
  upsert(items: { id: string; vector: Float32Array }[]) {
    return this.inner.upsert(items);
  }
  fetch(ids: string[]) {
    return this.inner.fetch(ids);
  }
  remove(ids: string[]) {
    return this.inner.remove(ids);
  }
  size() {
    return this.inner.size();
  }
  flush() {
    return this.inner.flush();
  }
}

/** Gallery for the engine's chat views without reading files (contact sheets get placeholders). */
function headlessGallery(gallery: Gallery): Gallery {
  return {
    get: (id) => gallery.get(id),
    getMany: (ids) => gallery.getMany(ids),
    read: async () => null,
    count: () => gallery.count(),
  };
}

/** Round images stored for real, but not read back for the chat view. */
function headlessImages(images: RoundImageStore): RoundImageStore {
  return {
    put: (key, roundId, png) => images.put(key, roundId, png),
    get: async () => null,
    delete: (ref) => images.delete(ref),
    deleteThread: (key) => images.deleteThread(key),
  };
}

class CaptureSink implements ThreadSink {
  readonly replies: Reply[] = [];
  async send(reply: Reply) {
    this.replies.push(reply);
  }
}

interface ConditionRuntime {
  name: ConditionName;
  condition: Condition;
  engine: ConversationEngine;
  stores: SqliteStores;
  images: FileRoundImageStore;
}

/** The rank of `target` for a query vector: raw over the gallery, and among the unshown. */
export async function targetRank(
  index: VectorIndex,
  vector: Float32Array,
  target: string,
  shown: ReadonlySet<string>,
  gallerySize: number,
): Promise<{ raw: number; unshown: number }> {
  // Most targets sit near the top: a short list first, the whole gallery only when needed.
  for (const k of [Math.min(gallerySize, 1024), gallerySize]) {
    const found = rankOf(await index.search(vector, k), target, shown);
    if (found.raw >= 0) return found;
    if (k === gallerySize) break;
  }
  throw new Error(`target ${target} is not in the index`);
}

/** Reads the finished dialogues of an earlier run, dropping a torn last line. */
export async function readFinished(path: string): Promise<Map<string, DialogueRecord>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return new Map();
  }
  const done = new Map<string, DialogueRecord>();
  const lines = text.split('\n');
  const complete = text.endsWith('\n') ? lines : lines.slice(0, -1);
  for (const line of complete) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as DialogueRecord;
      done.set(`${r.condition}|${r.target}`, r);
    } catch {
      // A line torn by a kill: run that dialogue again.
    }
  }
  if (!text.endsWith('\n'))
    await writeFile(
      path,
      complete
        .filter(Boolean)
        .map((l) => `${l}\n`)
        .join(''),
    );
  return done;
}

/** Runs (or resumes) an evaluation; see the file comment for what it writes. */
export async function runEval(world: EvalWorld, options: EvalOptions): Promise<EvalSummary> {
  const t0 = performance.now();
  const out = options.out;
  const topK = options.topK ?? 10;
  const salt = options.salt ?? 'genir-eval';
  const log = options.log ?? (() => {});
  const progress = options.progress ?? silentProgress;
  const unknown = options.conditions.filter((c) => !conditionOf(c));
  if (unknown.length > 0)
    throw new Error(
      `unknown condition(s): ${unknown.join(', ')}; known: ${CONDITION_NAMES.join(', ')}, ${ROUTER_SPECS.map((r) => `router=${r}`).join(', ')}`,
    );
  if (world.targets.length === 0) throw new Error('no targets to evaluate');

  if (options.fresh) {
    for (const entry of [
      'run.json',
      'results.jsonl',
      'results.json',
      'results.csv',
      'results.md',
      'plot.png',
      'conditions',
      'transcripts',
    ]) {
      await rm(join(out, entry), { recursive: true, force: true });
    }
  }
  await mkdir(out, { recursive: true });
  const run = {
    ...world.description,
    encoderId: world.encoder.id,
    generatorId: world.generator.id,
    refinerId: world.refiner.id,
    rounds: options.rounds,
    seed: options.seed,
    topK,
    targets: world.targets,
    ...(options.routerProbe ? { routerProbe: true } : {}),
  };
  await checkSameRun(join(out, 'run.json'), run);

  const resultsPath = join(out, 'results.jsonl');
  const finished = await readFinished(resultsPath);
  const gallerySize = await world.index.size();
  const index = new RecordingIndex(world.index);

  const runtimes = new Map<ConditionName, ConditionRuntime>();
  const runtimeOf = async (name: ConditionName): Promise<ConditionRuntime> => {
    const existing = runtimes.get(name);
    if (existing) return existing;
    const condition = conditionOf(name) as Condition;
    const dir = join(out, 'conditions', name.replace(/[^\w.@+-]/g, '_'));
    await mkdir(dir, { recursive: true });
    const stores = openSqliteStores(join(dir, 'state.db'));
    const images = new FileRoundImageStore(join(dir, 'rounds'));
    const headless = (options.views ?? 'headless') === 'headless';
    const router = condition.router
      ? evalRouter(condition.router, {
          generator: world.generator,
          encoder: world.encoder,
          index: world.index,
          threads: stores.threads,
          gallerySize,
          modelPath: options.routerModel ?? 'models/router-v1.json',
          probe: options.routerProbe ?? false,
        })
      : undefined;
    const engine = new ConversationEngine(
      {
        refiner: world.refiner,
        ...(world.fallbackRefiner ? { fallbackRefiner: world.fallbackRefiner } : {}),
        generator: new CountingGenerator(world.generator),
        ...(router ? { router } : {}),
        encoder: world.encoder,
        galleries: oneGallery({
          name: 'eval',
          index,
          gallery: headless ? headlessGallery(world.gallery) : world.gallery,
        }),
        images: headless ? headlessImages(images) : images,
        threads: stores.threads,
        transcripts: stores.transcripts,
        commands: commandSet,
        pictures: sharpPictures,
        logger: silentLogger,
      },
      {
        topK,
        ranking: { ...DEFAULT_RANKING, seenExclusion: condition.seenExclusion },
        transcripts: 'on',
        roundsPerUserPerMinute: 0,
        roundsPerWorkspacePerMinute: 0,
        hashUser: () => 'simulated',
      },
    );
    const runtime = { name, condition, engine, stores, images };
    runtimes.set(name, runtime);
    return runtime;
  };

  // Target-major order: an interrupted run has every condition for the targets it finished.
  const jobs: { name: ConditionName; target: string }[] = [];
  for (const target of world.targets) {
    for (const name of options.conditions)
      if (!finished.has(`${name}|${target}`)) jobs.push({ name, target });
  }
  const total = world.targets.length * options.conditions.length;
  const skipped = total - jobs.length;
  if (skipped > 0) log(`Resuming: ${skipped} of ${total} dialogues already done in ${resultsPath}.`);

  const nonce = `${Date.now().toString(36)}-${process.pid}`;
  let appending = Promise.resolve();
  const append = (record: DialogueRecord) => {
    appending = appending.then(() => appendFile(resultsPath, `${JSON.stringify(record)}\n`));
    return appending;
  };

  progress.start(total);
  let done = skipped;
  progress.update(done);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as { name: ConditionName; target: string };
      const rt = await runtimeOf(job.name);
      const record = await runDialogue(world, rt, job.target, {
        rounds: options.rounds,
        seed: options.seed,
        gallerySize,
        nonce,
        salt,
      });
      if (options.budget?.refused) {
        next = jobs.length;
        return;
      }
      finished.set(`${job.name}|${job.target}`, record);
      await append(record);
      progress.update(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  } finally {
    progress.stop();
  }
  if (options.budget?.refused) {
    for (const rt of runtimes.values()) {
      await rt.engine.idle();
      rt.stores.db.close();
    }
    log(`${finished.size} of ${total} dialogues finished in ${resultsPath}.`);
    throw new BudgetExceededError(options.budget.spentUsd, options.budget.limitUsd);
  }

  const results: EvalResults = { run, gallerySize, rounds: options.rounds, conditions: {} };
  const all: DialogueRecord[] = [];
  for (const name of options.conditions) {
    const condition = conditionOf(name) as Condition;
    const records = world.targets.map((t) => finished.get(`${name}|${t}`) as DialogueRecord);
    all.push(...records);
    results.conditions[name] = conditionResult(condition.label, { ...condition }, records);
  }
  const files = await writeReports(out, results);

  if ((options.transcripts ?? 'genir') !== 'off') {
    for (const name of options.conditions) {
      const rt = await runtimeOf(name);
      const dir = join(out, 'transcripts', name);
      await rm(dir, { recursive: true, force: true });
      await exportTranscripts({
        out: dir,
        transcripts: rt.stores.transcripts,
        images: rt.images,
        salt,
        format: options.transcripts === 'jsonl' ? 'jsonl' : 'genir',
      });
    }
    files.transcripts = join(out, 'transcripts');
  }
  for (const rt of runtimes.values()) {
    await rt.engine.idle();
    rt.stores.db.close();
  }
  return {
    results,
    records: all,
    files,
    ran: jobs.length,
    skipped,
    seconds: (performance.now() - t0) / 1000,
  };
}

async function checkSameRun(path: string, run: Record<string, unknown>): Promise<void> {
  let before: Record<string, unknown> | null = null;
  try {
    before = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    before = null;
  }
  if (before) {
    const changed = Object.keys({ ...before, ...run }).filter(
      (k) => JSON.stringify(before?.[k]) !== JSON.stringify(run[k]),
    );
    if (changed.length > 0) {
      throw new Error(
        `${path} belongs to a different run (${changed.join(', ')} changed); use --fresh to start over or another --out`,
      );
    }
  }
  await writeFile(path, `${JSON.stringify(run, null, 2)}\n`);
}

interface DialogueContext {
  rounds: number;
  seed: number;
  gallerySize: number;
  nonce: string;
  salt: string;
}

/**
 * One target, one condition, the paper's protocol: every round is run; when the target is shown
 * the user picks it (recorded) and goes on correcting. The raw rank is over the whole gallery; the
 * unshown rank leaves out every image shown in earlier rounds of this dialogue.
 */
async function runDialogue(
  world: EvalWorld,
  rt: ConditionRuntime,
  target: string,
  ctx: DialogueContext,
): Promise<DialogueRecord> {
  const key = encodeThreadKey('eval', [target]);
  // Leftovers of an interrupted earlier attempt.
  await rt.engine.forgetThread(key);
  const user = await world.makeUser(target, rt.condition, userSeed(ctx.seed, target));
  const turns: TurnRecord[] = [];
  const errors: string[] = [];
  const shownBefore = new Set<string>();
  let foundAt: number | null = null;
  let seq = 0;

  let generatorCalls = 0;
  const say = async (
    text: string,
  ): Promise<{ round: Round | null; log: SearchLog; replies: Reply[]; routes: RouteLog[] }> => {
    const sink = new CaptureSink();
    const store: SearchLog = { searches: [] };
    const routed = { routes: [] as RouteLog[], generatorCalls: 0 };
    const before = (await rt.engine.thread(key))?.rounds.length ?? 0;
    await routeLog.run(routed, () =>
      searchLog.run(store, () =>
        rt.engine.onMessage(
          { key, eventId: `${ctx.nonce}:${rt.name}:${target}:${seq++}`, userId: USER_ID, text },
          sink,
        ),
      ),
    );
    generatorCalls += routed.generatorCalls;
    const state = await rt.engine.thread(key);
    const round = state && state.rounds.length > before ? (state.rounds.at(-1) as Round) : null;
    return { round, log: store, replies: sink.replies, routes: routed.routes };
  };

  const lastRound = rt.condition.refine ? ctx.rounds : 0;
  let message: string | null = null;
  try {
    message = await user.describe();
  } catch (err) {
    errors.push(`round 0: the user could not describe the target: ${(err as Error).message}`);
  }
  for (let t = 0; message !== null && t <= lastRound; t++) {
    const { round, log, replies, routes } = await say(message);
    const search = log.searches.at(-1);
    if (!round || !search) {
      const notice = replies.find((r) => r.kind === 'notice');
      errors.push(
        `round ${t}: no round for "${message}"${notice?.kind === 'notice' ? `: ${notice.text}` : ''}`,
      );
      break;
    }
    const rank = await targetRank(world.index, search.vector, target, shownBefore, ctx.gallerySize);
    const n = round.matches.findIndex((m) => m.assetId === target);
    turns.push({
      round: t,
      message,
      query: round.query,
      interpretation: round.generated?.interpretation ?? null,
      raw: rank.raw,
      // Once shown, the target has no unshown rank: it keeps the one it was found at.
      unshown: rank.unshown >= 0 ? rank.unshown : (turns.at(-1)?.unshown ?? rank.raw),
      shown: n >= 0,
      drawn: round.generated !== null && round.generated.generatorId !== 'upload',
      ...(routes.at(-1) ? { route: routes.at(-1) as RouteLog } : {}),
    });
    for (const m of round.matches) shownBefore.add(m.assetId);
    if (n >= 0 && foundAt === null) {
      foundAt = t;
      await say(`/pick ${n + 1}`);
    }
    if (t === lastRound) break;
    const turn: BotTurn = {
      round: t,
      query: round.query,
      ...(round.generated?.interpretation ? { interpretation: round.generated.interpretation } : {}),
      syntheticPng: round.generated ? await rt.images.get(round.generated.image) : null,
      tiles: round.matches.map((m, i) => ({ n: i + 1, assetId: m.assetId })),
    };
    try {
      // One "more like" per drawing: after a feedback round the user corrects the drawing again.
      // After the pick the engine takes corrections only.
      const judge =
        rt.condition.relevanceFeedback && foundAt === null && round.generated !== null && user.closerMatch;
      const closer = judge ? await user.closerMatch?.(turn) : null;
      message = closer ? `/more ${closer}` : await user.respond(turn);
    } catch (err) {
      errors.push(`round ${t + 1}: the user could not answer: ${(err as Error).message}`);
      message = null;
    }
  }
  // round0 (and a dialogue cut short by an error) keeps its last ranks to the last round.
  const pad = (pick: (x: TurnRecord) => number) =>
    Array.from({ length: ctx.rounds + 1 }, (_, t) => {
      const turn = turns[Math.min(t, turns.length - 1)];
      return turn ? pick(turn) : ctx.gallerySize;
    });
  return {
    condition: rt.name,
    target,
    dialogueId: pseudonym(ctx.salt, key),
    foundAt,
    raw: pad((x) => x.raw),
    unshown: pad((x) => x.unshown),
    turns,
    errors,
    generatorCalls,
  };
}
