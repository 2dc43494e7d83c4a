/**
 * Dependency direction, read from the sources: scripts/ (the CLI) may import bots/ (the
 * composition roots), never the other way round; adapters/ import neither.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Until the rewrite of bots/main.ts imports adapters/progress directly (then delete scripts/progress.ts too). */
const KNOWN = ['bots/main.ts -> scripts/progress.ts'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every relative module a file imports or re-exports, statically or dynamically, as a repo path. */
function importsOf(file: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
  ].map((m) => m[1] as string);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

async function crossings(from: string, to: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sourceFiles(from)) {
    for (const target of importsOf(file, await readFile(join(ROOT, file), 'utf8'))) {
      if (to.some((dir) => target.startsWith(`${dir}/`))) found.push(`${file} -> ${target}`);
    }
  }
  return found.sort();
}

describe('dependency direction', () => {
  it('reads static, re-export, side-effect and dynamic imports', () => {
    const text = [
      "import { a } from '../scripts/a.ts';",
      "import type {\n  B,\n} from '../scripts/b.ts';",
      "export * from './c.ts';",
      "import '../scripts/d.ts';",
      "const e = await import('../scripts/e.ts');",
      "import { f } from 'node:fs';",
    ].join('\n');
    expect(importsOf('bots/x.ts', text)).toEqual([
      'scripts/a.ts',
      'scripts/b.ts',
      'bots/c.ts',
      'scripts/e.ts',
      'scripts/d.ts',
    ]);
  });

  it('bots/ never imports scripts/', async () => {
    expect(await crossings('bots', ['scripts'])).toEqual(KNOWN);
  });

  it('adapters/ import neither bots/ nor scripts/', async () => {
    expect(await crossings('adapters', ['bots', 'scripts'])).toEqual([]);
  });
});
