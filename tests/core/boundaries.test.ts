/** Core depends on nothing outside it: the command set, adapters and composition roots depend on core. */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const core = join(root, 'core');
const FORBIDDEN_PACKAGES = ['sharp'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(source: string): string[] {
  const found = source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g);
  return [...found].map((m) => m[1] as string);
}

/** What a core file imports that it may not: anything outside core/ (commands/, adapters/, bots/, scripts/…), or sharp. */
function violations(file: string, source: string): string[] {
  return specifiers(source).filter((spec) => {
    if (!spec.startsWith('.')) return FORBIDDEN_PACKAGES.includes(spec.split('/')[0] as string);
    const top = relative(root, resolve(dirname(file), spec)).split(/[\\/]/)[0] as string;
    return top !== 'core';
  });
}

describe('core boundaries', () => {
  it('no file under core/ imports from commands/, adapters/, bots/, scripts/ or sharp', async () => {
    const files = await sourceFiles(core);
    expect(files.length).toBeGreaterThan(10);
    const found: string[] = [];
    for (const file of files) {
      for (const spec of violations(file, await readFile(file, 'utf8'))) {
        found.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('the check sees a forbidden import when there is one', () => {
    const file = join(core, 'actions', 'x.ts');
    expect(violations(file, "import { helpText } from '../../commands/index.ts';")).toHaveLength(1);
    expect(
      violations(file, "export { sharpPictures } from '../../adapters/pictures/sharp/index.ts';"),
    ).toHaveLength(1);
    expect(violations(file, "const m = await import('sharp');")).toEqual(['sharp']);
    expect(violations(file, "import type { Round } from '../types.ts';")).toEqual([]);
  });
});
