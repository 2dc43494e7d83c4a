import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TerminalChat } from '../../../adapters/chat/terminal/adapter.ts';
import { decodeThreadId, encodeThreadId } from '../../../adapters/chat/terminal/thread-id.ts';
import type { ActionName } from '../../../commands/index.ts';
import { type ChatHarness, chatAdapterContract, type HarnessPost } from '../../contracts/chat-adapter.ts';
import { engineWorld } from '../../support/engine-world.ts';

/** Each reply is one write to the terminal; progress lines start with "… ". */
function toPost(chunk: string): HarnessPost | null {
  if (chunk.startsWith('… ')) return null;
  const round = /^── Round (\d+) ──/.exec(chunk);
  if (round) {
    const images = (chunk.match(/^(Synthetic image|Top \d+ matches): /gm) ?? []).length;
    return { kind: 'round', text: chunk, images, round: Number(round[1]) };
  }
  if (chunk.startsWith('Found it'))
    return { kind: 'found', text: chunk, images: chunk.includes('Copied to:') ? 1 : 0 };
  return { kind: 'notice', text: chunk, images: 0 };
}

async function terminalHarness(): Promise<ChatHarness> {
  const w = await engineWorld();
  const outDir = await mkdtemp(join(tmpdir(), 'genir-term-'));
  const chunks: string[] = [];
  const output = new PassThrough();
  output.on('data', (d: Buffer) => chunks.push(d.toString().replace(/\n$/, '')));
  // One terminal is one thread: the contract starts one search per harness.
  const chat = new TerminalChat(w.engine, { input: new PassThrough(), output, outDir, session: 's0' });
  await chat.start();
  const line = (text: string) => chat.handleLine(text).done;
  const commands: Record<ActionName, string> = {
    pick: '/pick',
    more: '/more',
    not: '/not',
    regen: '/regen',
    draw: '/draw',
    nodraw: '/nodraw',
    undo: '/undo',
    reset: '/reset',
    help: '/help',
    keep: '/keep',
    forget: '/forget',
    status: '/status',
    export: '/export',
  };
  return {
    frontEnd: chat,
    async start(text) {
      await line(text);
      return chat.session;
    },
    async say(_thread, text) {
      await line(text);
    },
    async act(_thread, action, n) {
      await line(`${commands[action]}${n ? ` ${n}` : ''}`);
    },
    async posts() {
      return chunks.flatMap((c) => toPost(c) ?? []);
    },
    async close() {},
  };
}

chatAdapterContract('terminal', terminalHarness, { staleControls: false });

describe('terminal chat', () => {
  it('encodes and decodes its thread ids in one place', () => {
    expect(decodeThreadId(encodeThreadId('2026-11-26-a:b'))).toEqual({ session: '2026-11-26-a:b' });
    expect(() => decodeThreadId('discord:1:2:3')).toThrow(/not a terminal thread/);
  });

  it('writes the round pictures under out/<thread>/ and prints their paths', async () => {
    const w = await engineWorld();
    const outDir = await mkdtemp(join(tmpdir(), 'genir-term-'));
    const output = new PassThrough();
    const text: string[] = [];
    output.on('data', (d: Buffer) => text.push(d.toString()));
    const input = new PassThrough();
    const chat = new TerminalChat(w.engine, { input, output, outDir, session: 'files' });
    await chat.start();
    input.end('a red circle\n/pick 1\n/quit\nnever read\n');
    await chat.finished;
    const all = text.join('');
    const sheet = /Top 10 matches: (\S+)/.exec(all)?.[1] as string;
    const synthetic = /Synthetic image: (\S+)/.exec(all)?.[1] as string;
    expect(sheet).toBe(join(outDir, 'files', 'round-01-matches.png'));
    expect((await readFile(sheet)).subarray(1, 4).toString()).toBe('PNG');
    expect((await readFile(synthetic)).subarray(1, 4).toString()).toBe('PNG');
    expect(all).toContain('Found it in round 1');
    expect(all).not.toContain('never read');

    // Resumed, it says where the search stands: found already, or at its last round.
    const greeting = async (session: string) => {
      const out: string[] = [];
      const o = new PassThrough();
      o.on('data', (d: Buffer) => out.push(d.toString()));
      const again = new TerminalChat(w.engine, { input: new PassThrough(), output: o, outDir, session });
      await again.start();
      await again.stop();
      return out.join('');
    };
    expect(await greeting('files')).toMatch(
      /^Resumed thread files: this search is already found \(round 1, /,
    );
    const sink = { send: async () => {} };
    await w.say(encodeThreadId('open'), 'a blue star', sink);
    await w.say(encodeThreadId('open'), 'it is red', sink);
    expect(await greeting('open')).toMatch(/^Resumed thread open at round 2: correct the last round/);
  });

  it('says "Top 1 match" for one match', async () => {
    const w = await engineWorld({ topK: 1 });
    const outDir = await mkdtemp(join(tmpdir(), 'genir-term-'));
    const output = new PassThrough();
    const text: string[] = [];
    output.on('data', (d: Buffer) => text.push(d.toString()));
    const input = new PassThrough();
    const chat = new TerminalChat(w.engine, { input, output, outDir, session: 'one' });
    await chat.start();
    input.end('a red circle\n');
    await chat.finished;
    expect(text.join('')).toContain('Top 1 match: ');
  });
});
