/**
 * Dependency direction, read from the sources (docs/architecture.md): core/ depends on nothing
 * outside it (no package at all); commands/ on core/; adapters/ on neither bots/ nor scripts/;
 * bots/ (the composition roots) never on scripts/ (the CLI).
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every module a file imports or re-exports, statically or dynamically: repo paths and package names. */
function importsOf(file: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
  ].map((m) => m[1] as string);
  return specifiers.map((s) => (s.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), s)) : s));
}

/** What files under `from` import that they may not: anything under `forbidden` folders or packages. */
async function crossings(from: string, forbidden: (target: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sourceFiles(from)) {
    for (const target of importsOf(file, await readFile(join(ROOT, file), 'utf8'))) {
      if (forbidden(target)) found.push(`${file} -> ${target}`);
    }
  }
  return found.sort();
}

const under =
  (...dirs: string[]) =>
  (target: string) =>
    dirs.some((d) => target.startsWith(`${d}/`));

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
      'node:fs',
      'scripts/e.ts',
      'scripts/d.ts',
    ]);
  });

  it('core/ imports nothing outside core/ but Node built-ins (no package, not sharp)', async () => {
    const outside = (t: string) => !t.startsWith('core/') && !t.startsWith('node:');
    expect(await crossings('core', outside)).toEqual([]);
  });

  it('commands/ imports only core/', async () => {
    expect(await crossings('commands', under('adapters', 'bots', 'scripts'))).toEqual([]);
  });

  it('adapters/ import neither bots/ nor scripts/', async () => {
    expect(await crossings('adapters', under('bots', 'scripts'))).toEqual([]);
  });

  it('bots/ never imports scripts/', async () => {
    expect(await crossings('bots', under('scripts'))).toEqual([]);
  });
});
