/**
 * `npm run bench:round`: p50/p95 per stage of whole rounds through the engine, on demo galleries
 * of several sizes. Prints a table, writes out/bench/round.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { makeThumbnails, ThumbnailStore } from '../adapters/pictures/sharp/index.ts';
import { progressBar } from '../adapters/progress/index.ts';
import { captionScene, type PartialScene, type Scene, sampleScene } from '../adapters/scene/index.ts';
import { loadConfig } from '../bots/config.ts';
import { demoDir } from '../bots/demo-gallery.ts';
import { buildRuntime, createLogger } from '../bots/runtime.ts';
import { createRng } from '../core/random.ts';
import { startWeb } from './bench-web.ts';
import { percentile, printTable } from './stats.ts';

const STAGES = ['refine', 'generate', 'encode', 'search', 'persist', 'render', 'total'] as const;

/** What a person might say over five rounds about a scene they remember, vaguest first. */
function conversation(scene: Scene): string[] {
  const [first, ...others] = scene.objects;
  const steps: PartialScene[] = [
    { objects: [{ shape: first?.shape, colour: first?.colour }] },
    { background: scene.background, objects: [{ shape: first?.shape, colour: first?.colour }] },
    { background: scene.background, objects: [{ ...first }] },
    { background: scene.background, objects: [{ ...first }, ...others.slice(0, 1)] },
    scene,
  ];
  return steps.map((s) => captionScene(s));
}

async function benchSize(size: number, rounds: number, rebuild: boolean) {
  const config = loadConfig();
  config.DATA_DIR = join('data', 'bench', String(size));
  config.DEMO_GALLERY_SIZE = size;
  config.LOG_LEVEL = 'silent';
  const t0 = performance.now();
  let built = false;
  let last: Record<string, number> = {};
  const rt = await buildRuntime(config, {
    engineOptions: {
      onRoundTimings: (_round, timings) => {
        last = timings;
      },
    },
    logger: createLogger(config),
    progress: progressBar(`gallery ${size}`),
    log: () => {
      built = true;
    },
    ...(rebuild ? { rebuild } : {}),
  });
  const buildSeconds = (performance.now() - t0) / 1000;
  // A gallery built before thumbnails were kept gets them now, once (new galleries make them when built).
  const t1 = performance.now();
  const assets = await rt.stores.gallery.all();
  const bar = progressBar(`thumbnails ${size}`);
  bar.start(assets.length);
  await makeThumbnails(rt.stores.gallery, assets, ThumbnailStore.beside(demoDir(config)), {
    onProgress: (done) => bar.update(done),
  });
  bar.stop();
  const thumbnailSeconds = (performance.now() - t1) / 1000;
  const samples: Record<string, number[]> = Object.fromEntries(STAGES.map((s) => [s, []]));
  const rng = createRng(size);
  let n = 0;
  for (let thread = 0; n < rounds; thread++) {
    const key = `bench:${Date.now().toString(36)}-${thread}`;
    for (const text of conversation(sampleScene(rng))) {
      if (n++ >= rounds) break;
      const t = performance.now();
      await rt.engine.onMessage(
        { key, eventId: `${key}:${n}`, userId: 'bench', text },
        {
          send: async (reply) => {
            // Notices (the research notice, progress) come with rounds; an error means no round.
            if (reply.kind === 'notice' && reply.level === 'error')
              throw new Error(`bench round failed: ${reply.text}`);
          },
        },
      );
      samples.total?.push(performance.now() - t);
      for (const stage of STAGES)
        if (stage !== 'total' && last[stage] !== undefined) samples[stage]?.push(last[stage]);
    }
  }
  await rt.close();
  return {
    size,
    rounds,
    gallery: built
      ? { built: true, seconds: buildSeconds, scenesPerSecond: size / buildSeconds }
      : { built: false },
    thumbnailSeconds,
    stages: Object.fromEntries(
      STAGES.map((s) => [
        s,
        { p50: percentile(samples[s] ?? [], 50), p95: percentile(samples[s] ?? [], 95) },
      ]),
    ),
  };
}

const program = new Command('bench:round')
  .option('--sizes <list>', 'gallery sizes', '2000,50000')
  .option('--rounds <n>', 'rounds per size', '100')
  .option('--rebuild', 'rebuild the bench galleries')
  .parse();
const opts = program.opts<{ sizes: string; rounds: string; rebuild?: boolean }>();
const results = [];
for (const size of opts.sizes.split(',').map(Number)) {
  results.push(await benchSize(size, Number(opts.rounds), opts.rebuild ?? false));
}
printTable(
  ['gallery', 'stat', ...STAGES],
  results.flatMap((r) =>
    (['p50', 'p95'] as const).map((stat) => [
      r.size.toLocaleString('en'),
      stat,
      ...STAGES.map((s) => (r.stages[s] as { p50: number; p95: number })[stat].toFixed(1)),
    ]),
  ),
);
for (const r of results) {
  if (r.gallery.built) {
    console.log(
      `gallery ${r.size}: built in ${r.gallery.seconds?.toFixed(1)} s (${Math.round(r.gallery.scenesPerSecond ?? 0)} scenes/s)`,
    );
  }
}
// The idle web bot (`npm start`) on the largest gallery: resident memory once it serves, after a quiet second.
const largest = Math.max(...results.map((r) => r.size));
const web = await startWeb({
  ...process.env,
  DATA_DIR: join('data', 'bench', String(largest)),
  DEMO_GALLERY_SIZE: String(largest),
  LOG_LEVEL: 'warn',
});
let idleRssMb: number;
try {
  await web.call('/api/info');
  await new Promise((r) => setTimeout(r, 1000));
  idleRssMb = await web.rssMb();
} finally {
  await web.stop();
}
console.log(`idle web bot, ${largest.toLocaleString('en')} images: RSS ${idleRssMb.toFixed(0)} MB`);
await mkdir('out/bench', { recursive: true });
await writeFile(
  'out/bench/round.json',
  JSON.stringify(
    { date: new Date().toISOString(), results, idleWeb: { size: largest, rssMb: idleRssMb } },
    null,
    2,
  ),
);
console.log('wrote out/bench/round.json (ms)');
