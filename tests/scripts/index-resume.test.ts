import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SqliteDatabase, SqliteGallery } from '../../adapters/store/sqlite/index.ts';
import { createRng } from '../../core/random.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const IMAGES = 400;
let tmp: string;
let folder: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'genir-index-kill-'));
  folder = join(tmp, 'photos');
  for (let d = 0; d < 4; d++) await mkdir(join(folder, `day-${d}`), { recursive: true });
  const rng = createRng(7);
  for (let i = 0; i < IMAGES; i++) {
    const raw = Buffer.alloc(32 * 32 * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = Math.floor(rng() * 256);
    const png = await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    await writeFile(join(folder, `day-${i % 4}`, `shot-${i}.png`), png);
  }
}, 60_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** `genir index` in a child process (the real tiny ONNX encoder, the usearch index). */
function runIndex(env: Record<string, string>, onLine?: (line: string, child: ChildProcess) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[]; stderr: string }>(
    (resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'scripts', 'index-gallery', 'main.ts'),
          'index',
          folder,
          '--json',
          '--batch',
          '8',
        ],
        { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', VECTOR_INDEX: 'usearch', ...env } },
      );
      const lines: string[] = [];
      let buffered = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          lines.push(line);
          onLine?.(line, child);
          nl = buffered.indexOf('\n');
        }
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('close', (code, signal) => resolve({ code, signal, lines, stderr }));
    },
  );
}

async function assetCount(dataDir: string, name: string): Promise<number> {
  const db = SqliteDatabase.open(join(dataDir, 'galleries', name, 'gallery.db'), { readonly: true });
  try {
    return await new SqliteGallery(db).count();
  } finally {
    db.close();
  }
}

it('a run killed (SIGKILL) mid-way resumes where it stopped', async () => {
  const dataDir = join(tmp, 'data');
  const env = { DATA_DIR: dataDir };
  const killed = await runIndex(env, (line, child) => {
    const event = JSON.parse(line) as { job?: string; done?: number };
    if (event.job === 'index' && (event.done ?? 0) >= 16 && !child.killed) child.kill('SIGKILL');
  });
  expect(killed.signal).toBe('SIGKILL');
  const [gallery] = await readdir(join(dataDir, 'galleries'));
  expect(gallery).toMatch(/^photos-[0-9a-f]{8}$/);
  const committed = await assetCount(dataDir, gallery as string);
  expect(committed).toBeGreaterThanOrEqual(16);
  expect(committed).toBeLessThan(IMAGES);

  const resumed = await runIndex(env);
  expect(resumed.code, resumed.stderr).toBe(0);
  const summary = JSON.parse(resumed.lines.at(-1) as string).summary;
  expect(summary).toMatchObject({
    found: IMAGES,
    indexed: IMAGES - committed,
    unchanged: committed,
    bad: [],
  });
  expect(summary.notes).toEqual([]);
  expect(summary.assets).toBe(IMAGES);
  expect(summary.vectors).toBe(IMAGES);
  expect(await assetCount(dataDir, gallery as string)).toBe(IMAGES);
}, 120_000);
