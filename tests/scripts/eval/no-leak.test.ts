/**
 * The perceiving user gets pixels, never what the pixels were made from: its modules import
 * nothing that holds captions, scene structs, the parser or the bot's query, and its API takes
 * PNG Buffers.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { perceive } from '../../../scripts/eval/perception.ts';
import { PerceivingUser } from '../../../scripts/eval/pixel-user.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
/** The user side: what it may reach, and nothing else. */
const USER_MODULES = ['scripts/eval/pixel-user.ts', 'scripts/eval/perception.ts'];
const ALLOWED = new Set([
  'scripts/eval/pixel-user.ts',
  'scripts/eval/perception.ts',
  'scripts/eval/paraphrase.ts',
  'scripts/eval/compare.ts',
  // The words of the world (colour names and their RGB, shape names, the 3×3 grid) …
  'adapters/scene/vocabulary.ts',
  // … and what each shape looks like (outlines only, no scene).
  'adapters/scene/shapes.ts',
  'core/random.ts',
]);

async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1] as string,
  );
  return specs.map((s) => (s.startsWith('.') ? relative(ROOT, resolve(dirname(join(ROOT, file)), s)) : s));
}

describe('no leak from the scene world into the perceiving user', () => {
  it('reaches only the vocabulary, the shape outlines and its own modules (transitively)', async () => {
    const reached = new Set<string>();
    const todo = [...USER_MODULES];
    while (todo.length > 0) {
      const file = todo.pop() as string;
      if (reached.has(file)) continue;
      reached.add(file);
      for (const spec of await importsOf(file)) {
        if (!spec.endsWith('.ts')) {
          expect(['sharp', 'node:crypto']).toContain(spec);
          continue;
        }
        expect(ALLOWED, `${file} imports ${spec}`).toContain(spec);
        todo.push(spec);
      }
    }
    for (const forbidden of [
      'caption',
      'parse',
      'lexer',
      'scene.ts',
      'complete',
      'render',
      'sample',
      'scene-diff',
      'users.ts',
      'text-reader',
    ])
      expect([...reached].filter((f) => f.includes(forbidden))).toEqual([]);
  });

  it('takes PNG Buffers only', async () => {
    const notAPng = { background: 'teal', objects: [] } as unknown as Buffer;
    await expect(perceive(notAPng)).rejects.toThrow(/PNG Buffer/);
    await expect(
      PerceivingUser.fromPng('a red star' as unknown as Buffer, { seed: 1, perceive }),
    ).rejects.toThrow(/PNG Buffer/);
  });
});
