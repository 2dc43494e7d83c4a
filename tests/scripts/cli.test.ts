import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { genir } from '../support/genir-cli.ts';

// Each test starts fresh processes that transpile the sources first: slow on a loaded 2-core machine.
describe('genir CLI', { timeout: 120_000 }, () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'genir-cli-'));
    env = { DATA_DIR: join(dir, 'data'), OUT_DIR: join(dir, 'out') };
    const built = await genir(['demo-gallery', '--json'], env);
    expect(built.code).toBe(0);
  }, 120_000);

  it('ask --json: one round with the refined query, picture paths and 10 matches', async () => {
    const { code, stdout } = await genir(['ask', 'a large red circle on a teal background', '--json'], env);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    const [round] = out.replies;
    expect(round).toMatchObject({
      kind: 'round',
      round: 1,
      query: 'a large red circle on a teal background',
    });
    expect(round.matches).toHaveLength(10);
    // Each match names its file as well as its id.
    for (const m of round.matches) expect((await readFile(m.file)).subarray(1, 4).toString()).toBe('PNG');
    expect((await readFile(round.syntheticImage)).subarray(1, 4).toString()).toBe('PNG');
    expect((await readFile(round.contactSheet)).subarray(1, 4).toString()).toBe('PNG');
    const next = await genir(['ask', '--thread', out.thread, '--json', 'it is blue'], env);
    expect(JSON.parse(next.stdout).replies[0]).toMatchObject({
      round: 2,
      query: 'a large blue circle on a teal background',
    });
  });

  it('chat: reads piped lines as a conversation, remembers it in SQLite, and resumes it', async () => {
    const first = await genir(
      ['chat', '--thread', 'piped'],
      { ...env, LOG_LEVEL: 'info' },
      'a small green star at the top left\n/more 2\n/pick 1\n',
    );
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('── Round 1 ── a small green star at the top left');
    expect(first.stdout).toContain('── Round 2 ──');
    expect(first.stdout).toContain('Found it in round 2');
    // The research notice names the command the terminal has; no JSON log line on the screen.
    expect(first.stdout).toContain('or type /keep.');
    expect(`${first.stdout}${first.stderr}`).not.toContain('"level"');
    expect(await readFile(join(env.DATA_DIR as string, 'logs', 'cli.log'), 'utf8')).toContain('"level"');
    const again = await genir(['chat', '--thread', 'piped'], env, '/undo\n');
    expect(again.stdout).toContain('Resumed thread piped: this search is already found (round 2');
    expect(again.stdout).toContain('Removed round 2; back at round 1');
  });

  it('ask with a 16,000-character command line answers (no segfault); over 50,000 it refuses before any model work', async () => {
    const long = await genir(['ask', 'a small blue star '.repeat(900)], env);
    expect(long.code).toBe(0);
    expect(long.stdout).toContain('── Round 1 ── a small blue star');
    expect(long.stdout).toContain('I used the first 2,000');
    const huge = await genir(['ask', 'x'.repeat(60_000)], env);
    expect(huge.code).toBe(1);
    expect(huge.stderr).toContain('That message is 60,000 characters long; the most I accept is 50,000.');
    expect(huge.stderr).not.toContain('demo gallery');
  });

  it('reports a bad configuration value by name and exits non-zero', async () => {
    const { code, stderr } = await genir(['ask', 'x'], { ...env, TOP_K: 'lots' });
    expect(code).toBe(1);
    expect(stderr).toContain('TOP_K');
  });
});
