/**
 * `npm run bench:burst`: the Slack front end (HTTP mode, the real Bolt app) on the offline engine
 * against the fake Slack of tests/fakes, hit with bursts of signed deliveries: slash commands
 * that start searches, then replies in their threads. Measures each delivery's ack latency (the
 * HTTP answer Slack waits at most 3 s for) and the event loop's delay during the burst
 * (perf_hooks.monitorEventLoopDelay). Prints a table, writes out/bench/burst.json.
 * Profile with: node --cpu-prof --cpu-prof-dir out/bench --import tsx scripts/bench-burst.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Command } from 'commander';
import { loadConfig } from '../bots/config.ts';
import { buildRuntime, createLogger } from '../bots/runtime.ts';
import { createSlackFrontEnd } from '../bots/slack.ts';
import { FakeSlack } from '../tests/fakes/slack/fake-slack.ts';
import { SlackRequestSender } from '../tests/fakes/slack/signer.ts';
import { percentile, printTable } from './stats.ts';

const SECRET = 'bench-signing-secret-0123456789';
const REPLIES = ['it is blue', 'it is small', 'at the top left', 'on a white background', 'two of them'];

const program = new Command()
  .option('--deliveries <n>', 'signed deliveries in all', (v) => Number(v), 650)
  .option('--burst <n>', 'deliveries sent at once', (v) => Number(v), 65)
  .option('--gap <ms>', 'pause between bursts', (v) => Number(v), 250)
  .option('--threads <n>', 'searches started (one person each)', (v) => Number(v), 100)
  .option('--gallery <n>', 'demo gallery size', (v) => Number(v), 2000)
  .option(
    '--settle <s>',
    'after the burst, wait this long at most for the rounds to finish',
    (v) => Number(v),
    120,
  )
  .option('--out <dir>', 'where burst.json goes', join('out', 'bench'))
  .parse();
const opts = program.opts<{
  deliveries: number;
  burst: number;
  gap: number;
  threads: number;
  gallery: number;
  settle: number;
  concurrency: number;
  out: string;
}>();

const config = loadConfig();
config.DATA_DIR = join('data', 'bench', String(opts.gallery));
config.DEMO_GALLERY_SIZE = opts.gallery;
config.LOG_LEVEL = 'silent';
const logger = createLogger(config);
// Every delivery is meant to become a round: no per-person or per-workspace round limit here.
const rt = await buildRuntime(config, {
  logger,
  engineOptions: { roundsPerUserPerMinute: 1e6, roundsPerWorkspacePerMinute: 1e6 },
});
process.stderr.write('engine ready\n');
const fake = await FakeSlack.start();
const bot = await createSlackFrontEnd(
  {
    engine: rt.engine,
    config: {
      ...config,
      SLACK_BOT_TOKEN: fake.identity.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_APP_TOKEN: undefined,
      SLACK_PORT: 0,
      SLACK_API_URL: fake.apiUrl,
    },
    logger,
  },
  {
    host: '127.0.0.1',
    postIntervalMs: 0,
    fileOrigins: [fake.baseUrl],
    maxConcurrentRounds: opts.concurrency,
  },
);
await bot.start();
const sender = new SlackRequestSender(`http://127.0.0.1:${bot.port}/slack/events`, SECRET, fake.identity);

/** The i-th delivery: the first `threads` start searches, the rest reply in them in turn. */
const roots: { channel: string; ts: string }[] = [];
async function deliver(i: number): Promise<number> {
  const user = `UBENCH${i % opts.threads}`;
  const t0 = performance.now();
  let status: number;
  if (i < opts.threads || roots.length === 0) {
    const channel = `CBENCH${i % opts.threads}`;
    ({ status } = await sender.command({
      text: 'a red circle at the top left',
      channel,
      user,
      responseUrl: fake.responseUrl(channel, user),
    }));
  } else {
    const root = roots[i % roots.length] as { channel: string; ts: string };
    const text = REPLIES[i % REPLIES.length] as string;
    const ts = fake.addPersonMessage(root.channel, user, text, root.ts).ts;
    ({ status } = await sender.event({
      type: 'message',
      channel: root.channel,
      channel_type: 'channel',
      user,
      text,
      ts,
      thread_ts: root.ts,
    }));
  }
  const ms = performance.now() - t0;
  if (status !== 200) throw new Error(`delivery ${i} answered ${status}`);
  return ms;
}

// Warm-up: one whole round first, so that lazy imports and first-use compilation are not measured.
await sender.command({
  text: 'warm up',
  channel: 'CWARM',
  user: 'UWARM',
  responseUrl: fake.responseUrl('CWARM', 'UWARM'),
});
await bot.idle();

const loop = monitorEventLoopDelay({ resolution: 10 });
const acks: number[] = [];
const started = performance.now();
loop.enable();
for (let i = 0; i < opts.deliveries; i += opts.burst) {
  const burst = Array.from({ length: Math.min(opts.burst, opts.deliveries - i) }, (_, k) => deliver(i + k));
  acks.push(...(await Promise.all(burst)));
  process.stderr.write(`\r${acks.length}/${opts.deliveries} delivered`);
  // Replies need the roots the commands posted.
  if (roots.length < opts.threads)
    for (const m of fake.messages)
      if (!m.threadTs && m.channel.startsWith('CBENCH') && !roots.some((r) => r.ts === m.ts))
        roots.push({ channel: m.channel, ts: m.ts });
  await new Promise((r) => setTimeout(r, opts.gap));
}
// The burst is over when the last delivery has been acknowledged.
loop.disable();
const sentSeconds = (performance.now() - started) / 1000;
process.stderr.write('\nwaiting for the rounds to finish…\n');
const settled = await Promise.race([
  bot.idle().then(() => true),
  new Promise<boolean>((r) => setTimeout(() => r(false), opts.settle * 1000).unref()),
]);
const totalSeconds = (performance.now() - started) / 1000;

const ms = (ns: number) => ns / 1e6;
const rounds = fake.messages.filter(
  (m) => m.metadata?.event_type === 'genir_round' && m.channel !== 'CWARM',
).length;
const result = {
  deliveries: acks.length,
  ack: {
    p50: percentile(acks, 50),
    p95: percentile(acks, 95),
    p99: percentile(acks, 99),
    max: Math.max(...acks),
    over3s: acks.filter((a) => a > 3000).length,
  },
  loopDelay: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
  rounds,
  settled,
  sentSeconds,
  totalSeconds,
  options: opts,
};
printTable(
  [
    'deliveries',
    'ack p50',
    'ack p95',
    'ack p99',
    'ack max',
    '> 3 s',
    'loop p50',
    'loop p99',
    'loop max',
    'rounds',
    's',
  ],
  [
    [
      String(result.deliveries),
      ...[result.ack.p50, result.ack.p95, result.ack.p99, result.ack.max].map((v) => `${v.toFixed(0)} ms`),
      String(result.ack.over3s),
      ...[result.loopDelay.p50, result.loopDelay.p99, result.loopDelay.max].map((v) => `${v.toFixed(0)} ms`),
      String(rounds),
      totalSeconds.toFixed(1),
    ],
  ],
);
await mkdir(opts.out, { recursive: true });
await writeFile(join(opts.out, 'burst.json'), `${JSON.stringify(result, null, 2)}\n`);
if (!settled) {
  process.stderr.write(`rounds still running after ${opts.settle} s; stopping without waiting\n`);
  process.exit(0);
}
await bot.stop();
await fake.close();
await rt.close();
