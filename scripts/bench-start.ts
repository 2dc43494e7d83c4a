/**
 * `npm run bench:start`: how fast genir is from the first second, each a median of fresh processes —
 * cold `genir --help`, cold `genir ask` on an existing demo gallery, and `npm start` (the web
 * playground) until its first round's pictures are served. Prints a table, writes out/bench/start.json.
 * Runs what `npm start` runs (bin/genir.js, bin/start.js: dist/ when built, else the sources).
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { startWeb } from './bench-web.ts';
import { percentile, printTable } from './stats.ts';

const ROOT = join(import.meta.dirname, '..');

const program = new Command('bench:start')
  .option('--runs <n>', 'fresh processes per measurement', '5')
  .option(
    '--data-dir <dir>',
    'DATA_DIR with a built demo gallery (built by the first run if missing)',
    'data',
  )
  .parse();
const opts = program.opts<{ runs: string; dataDir: string }>();
const env = { ...process.env, DATA_DIR: opts.dataDir, LOG_LEVEL: 'warn' };

/** Runs a process to its end; milliseconds from spawn to exit. */
function timeRun(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')}: ${stderr}`)),
    );
  });
}

/** `npm start` on a free port: ms until a first round's contact sheet is served. */
async function startToFirstRound(): Promise<number> {
  const t0 = performance.now();
  const web = await startWeb(env);
  try {
    const { thread } = (await (await web.call('/api/threads', { method: 'POST' })).json()) as {
      thread: { id: string };
    };
    await web.call(`/api/threads/${thread.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'a large red circle on a teal background' }),
    });
    for (;;) {
      const res = await web.call(`/api/threads/${thread.id}`);
      if (!res.ok) throw new Error(`GET /api/threads/${thread.id}: HTTP ${res.status}`);
      const text = await res.text();
      const sheet = /\/img\/rounds\/[^"]+\/sheet\.png/.exec(text)?.[0];
      if (sheet) {
        const res = await web.call(sheet);
        if (res.status !== 200) throw new Error(`${sheet}: HTTP ${res.status}`);
        await res.arrayBuffer();
        return performance.now() - t0;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await web.stop();
  }
}

// The demo gallery first (built once if missing), so every measured start finds it.
await timeRun(['bin/genir.js', 'demo-gallery']);
const runs = Number(opts.runs);
const load = [loadavg()[0] as number];
const measures: [string, () => Promise<number>][] = [
  ['genir --help', () => timeRun(['bin/genir.js', '--help'])],
  [
    'genir ask (demo gallery)',
    () => timeRun(['bin/genir.js', 'ask', 'a large red circle on a teal background']),
  ],
  ['npm start → first round served', startToFirstRound],
];
const results: { what: string; samples: number[]; median: number }[] = [];
for (const [what, measure] of measures) {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measure());
  results.push({ what, samples, median: percentile(samples, 50) });
}
load.push(loadavg()[0] as number);
printTable(
  ['what', 'median s', 'min s', 'max s'],
  results.map((r) => [
    r.what,
    (r.median / 1000).toFixed(2),
    (Math.min(...r.samples) / 1000).toFixed(2),
    (Math.max(...r.samples) / 1000).toFixed(2),
  ]),
);
console.log(`load average (1 min) before / after: ${load.map((l) => l.toFixed(1)).join(' / ')}`);
await mkdir('out/bench', { recursive: true });
await writeFile(
  'out/bench/start.json',
  JSON.stringify({ date: new Date().toISOString(), runs, loadAverage: load, results }, null, 2),
);
console.log('wrote out/bench/start.json (ms)');
