import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { MAX_TEXT_CHARS, tooLongText } from '../adapters/chat/shared/text.ts';
import type { TerminalRenderer } from '../adapters/chat/terminal/renderer.ts';
import type { Config } from '../bots/config.ts';
import { ConfigError } from '../bots/config-error.ts';
import type { Gallery } from '../core/ports.ts';
import type { Reply } from '../core/types.ts';
import type { ClipShapedParams } from './build-clip-shaped-encoder.ts';
import { registerDatasetCommand } from './dataset/command.ts';
import { addEvalCommand } from './eval/cli.ts';
import { registerGalleryCommand } from './gallery/command.ts';
import { registerIndexCommand } from './index-gallery/command.ts';
import { MODEL_REGISTRY } from './model-registry.ts';

/**
 * Each command imports what it uses when it runs (its first line), so `genir --help` and every
 * other command skip it: platform SDKs, sharp and onnxruntime each take 0.1–1 s to load.
 */
const runtime = () => import('./cli-runtime.ts');

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  return n;
};

const program = new Command('genir')
  .description('Mental image retrieval with generative visual feedback: describe, see, correct, find.')
  .showHelpAfterError();

program
  .command('chat')
  .description('chat in the terminal: describe an image, correct the drawing, pick the match')
  .option('--thread <id>', 'resume a thread by its id')
  .action(async (opts: { thread?: string }) => {
    const { buildRuntime, createLogger, loadConfig, progressBar, TerminalChat } = await runtime();
    const config = loadConfig();
    const rt = await buildRuntime(config, {
      progress: progressBar('demo gallery'),
      log: console.error,
      logger: terminalLogger(config, createLogger),
    });
    const chat = new TerminalChat(rt.engine, {
      input: process.stdin,
      output: process.stdout,
      outDir: rt.config.OUT_DIR,
      ...(opts.thread ? { session: opts.thread } : {}),
    });
    await chat.start();
    await chat.finished;
    await rt.close();
  });

program
  .command('ask')
  .description('one round, non-interactive (continue a search with --thread)')
  .argument('<text...>', 'the description, a correction, or a command such as "/pick 3"')
  .option('--thread <id>', 'thread id to continue (default: a new thread)')
  .option('--json', 'machine-readable output')
  .action(async (words: string[], opts: { thread?: string; json?: boolean }) => {
    const text = words.join(' ');
    // Before any model work: a message this long is no description.
    if (text.length > MAX_TEXT_CHARS) throw new Error(tooLongText(text.length));
    const { buildRuntime, createLogger, encodeThreadId, loadConfig, TerminalRenderer } = await runtime();
    const config = loadConfig();
    const rt = await buildRuntime(config, {
      log: console.error,
      logger: terminalLogger(config, createLogger),
    });
    const session = opts.thread ?? `ask-${Date.now().toString(36)}`;
    const key = encodeThreadId(session);
    const renderer = new TerminalRenderer(rt.config.OUT_DIR);
    const replies: unknown[] = [];
    await rt.engine.onMessage(
      { key, eventId: `ask:${session}:${Date.now()}:${process.pid}`, userId: 'cli', text },
      {
        send: async (reply) => {
          if (opts.json) replies.push(await toJson(reply, renderer, rt.gallery));
          else console.log(await renderer.render(reply));
        },
      },
    );
    if (opts.json) console.log(JSON.stringify({ thread: session, replies }, null, 2));
    await rt.close();
  });

program
  .command('demo-gallery')
  .description('build the offline demo gallery: sampled scenes as PNG files + manifest, indexed')
  .option('--count <n>', 'number of scenes', int('--count'))
  .option('--seed <n>', 'random seed', int('--seed'))
  .option('--rebuild', 'rebuild even if a matching gallery exists')
  .option('--json', 'progress as JSON lines')
  .action(async (opts: { count?: number; seed?: number; rebuild?: boolean; json?: boolean }) => {
    const { ensureDemoGallery, jsonProgress, loadConfig, loadEncoder, openStores, progressBar } =
      await runtime();
    const config = loadConfig();
    if (opts.count) config.DEMO_GALLERY_SIZE = opts.count;
    if (opts.seed) config.DEMO_GALLERY_SEED = opts.seed;
    const stores = await openStores(config);
    const encoder = await loadEncoder(config);
    const t0 = performance.now();
    const index = await ensureDemoGallery(config, encoder, stores, {
      rebuild: opts.rebuild ?? false,
      progress: opts.json ? jsonProgress('demo-gallery') : progressBar('demo gallery'),
      log: console.error,
    });
    const seconds = (performance.now() - t0) / 1000;
    const size = await index.size();
    const summary = {
      scenes: size,
      seconds: Math.round(seconds * 100) / 100,
      scenesPerSecond: Math.round(size / seconds),
    };
    console.log(
      opts.json
        ? JSON.stringify(summary)
        : `Demo gallery ready: ${size} scenes indexed (${summary.seconds} s).`,
    );
    await index.close();
    await encoder.close();
    await stores.close();
  });

program
  .command('web')
  .description('open the web playground: a local page with the same engine and actions')
  .option('--port <n>', 'port (default WEB_PORT)', int('--port'))
  .option('--host <addr>', 'address (default WEB_HOST)')
  .action(async (opts: { port?: number; host?: string }) => {
    const { buildRuntime, loadConfig, progressBar, startFrontEnd, webFrontEnd } = await runtime();
    const config = loadConfig();
    if (opts.port) config.WEB_PORT = opts.port;
    if (opts.host) config.WEB_HOST = opts.host;
    const rt = await buildRuntime(config, { progress: progressBar('demo gallery'), log: console.error });
    const web = await startFrontEnd(webFrontEnd, rt);
    console.log(`GenIR web playground: ${web.url}  (Ctrl+C to stop)`);
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await web.stop();
    await rt.close();
  });

program
  .command('discord:register')
  .description(
    'register the slash commands with Discord (a guild for development: instant; global: up to an hour)',
  )
  .option('--guild <id>', 'register in this guild only')
  .action(async (opts: { guild?: string }) => {
    const { discordRegister } = await import('./discord-register.ts');
    const { loadConfig } = await import('../bots/config.ts');
    console.log(await discordRegister(loadConfig(), opts.guild ? { guild: opts.guild } : {}));
  });

program
  .command('export')
  .description('export the consented research transcripts in the GenIR format (or JSONL), with their images')
  .requiredOption('--out <dir>', 'output folder')
  .option('--since <date>', 'only rounds on or after this date (YYYY-MM-DD or ISO time)')
  .option('--format <format>', 'genir (a JSON file per dialogue) or jsonl', 'genir')
  .option('--tenant <id>', 'only one workspace: slack:<team id>, discord:<guild id> or local')
  .action(async (opts: { out: string; since?: string; format: string; tenant?: string }) => {
    const { exportTranscripts, loadConfig, openStores, progressBar } = await runtime();
    if (opts.format !== 'genir' && opts.format !== 'jsonl')
      throw new Error('--format must be genir or jsonl');
    const since = opts.since ? Date.parse(opts.since) : undefined;
    if (since !== undefined && Number.isNaN(since)) throw new Error(`--since: not a date: ${opts.since}`);
    const config = loadConfig();
    const stores = await openStores(config);
    const result = await exportTranscripts({
      out: opts.out,
      transcripts: stores.transcripts,
      images: stores.images,
      salt: config.USER_HASH_SALT,
      format: opts.format,
      progress: progressBar('export'),
      ...(since !== undefined ? { since } : {}),
      ...(opts.tenant ? { tenant: opts.tenant } : {}),
    });
    console.log(`Exported ${result.dialogues} dialogues (${result.rounds} rounds) to ${opts.out}.`);
    await stores.close();
  });

/** The terminal chat and `ask` keep the screen for the conversation: the JSON log goes to DATA_DIR/logs/cli.log. */
function terminalLogger(config: Config, createLogger: typeof import('../bots/runtime.ts').createLogger) {
  return createLogger(config, { file: join(config.DATA_DIR, 'logs', 'cli.log') });
}

async function toJson(reply: Reply, renderer: TerminalRenderer, gallery: Gallery): Promise<unknown> {
  switch (reply.kind) {
    case 'notice':
      return reply;
    case 'round': {
      const { view } = reply;
      const files = await renderer.writeRoundFiles(view);
      const assets = await gallery.getMany(view.tiles.map((t) => t.assetId));
      return {
        kind: 'round',
        round: view.roundNumber,
        roundId: view.roundId,
        query: view.query,
        interpretation: view.interpretation ?? null,
        syntheticImage: files.synthetic,
        contactSheet: files.sheet,
        // Each match's file (path or URL of the original) next to its id.
        matches: view.tiles.map((t) => ({ ...t, file: assets.get(t.assetId)?.source ?? null })),
        notes: view.notes,
      };
    }
    case 'found':
      return {
        kind: 'found',
        round: reply.view.roundNumber,
        asset: reply.view.asset,
        copiedTo: await renderer.writeFound(reply.view),
      };
  }
}

const models = program
  .command('models')
  .description('download encoder models (CLIP) from the Hugging Face hub, or build a benchmark stand-in');
models
  .command('fetch')
  .description(
    'download a known model into MODELS_DIR/<name>/ (resumable, size + sha256 checked) and write its configs',
  )
  .argument('<name>', `one of: ${Object.keys(MODEL_REGISTRY).join(', ')}`)
  .option('--quantized', 'the int8 exports: about 4x smaller, slightly less exact')
  .action(async (name: string, opts: { quantized?: boolean }) => {
    const { modelsFetchCommand } = await import('./models-fetch.ts');
    const { loadConfig } = await import('../bots/config.ts');
    const config = loadConfig();
    process.exitCode = await modelsFetchCommand(name, {
      quantized: opts.quantized ?? false,
      modelsDir: config.MODELS_DIR,
      endpoint: config.HF_ENDPOINT,
      token: config.HF_TOKEN,
    });
  });
models
  .command('build-clip-shaped')
  .description(
    "build an image encoder shaped like CLIP ViT-B/32's with random weights, for benchmarks (its vectors are meaningless); " +
      'the defaults are ViT-B/32: 224 px images, 32 px patches, 12 blocks of width 768, 512-dim',
  )
  .option('--out <file>', 'model file; its config goes next to it (default MODELS_DIR/clip-shaped.onnx)')
  .option('--layers <n>', 'transformer blocks', int('--layers'))
  .option('--width <n>', 'token width (a multiple of 64)', int('--width'))
  .option('--image-size <n>', 'input pixels per side', int('--image-size'))
  .option('--patch <n>', 'patch pixels per side', int('--patch'))
  .option('--dim <n>', 'embedding size', int('--dim'))
  .option('--seed <n>', 'random seed of the weights (default 1)', int('--seed'))
  .action(async ({ out, ...given }: Partial<ClipShapedParams> & { out?: string }) => {
    const { buildClipShapedCommand } = await import('./build-clip-shaped-encoder.ts');
    const { loadConfig } = await import('../bots/config.ts');
    console.log(
      await buildClipShapedCommand(out ?? join(loadConfig().MODELS_DIR, 'clip-shaped.onnx'), given),
    );
  });
models
  .command('list')
  .description('the models "genir models fetch" knows')
  .action(() => {
    for (const m of Object.values(MODEL_REGISTRY)) console.log(`${m.name.padEnd(24)} ${m.description}`);
  });

program
  .command('doctor')
  .description('check the configuration and reach each configured provider; say how to fix what is missing')
  .action(async () => {
    const { doctorCommand } = await import('./doctor.ts');
    const { loadConfig } = await import('../bots/config.ts');
    process.exitCode = await doctorCommand(loadConfig(process.env, { lenient: true }));
  });

registerIndexCommand(program);
registerDatasetCommand(program);
registerGalleryCommand(program);
addEvalCommand(program);

try {
  await program.parseAsync();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `genir: ${(err as Error).message}`);
  process.exitCode = 1;
}
