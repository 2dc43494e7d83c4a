/**
 * Runs an entry point of the app ('scripts/cli', 'bots/main') from dist/ — compiled by `npm run
 * build`, which `npm install` runs — while that build is newer than every source file; otherwise
 * from the TypeScript sources through tsx, which costs about half a second of transpiling per start.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const SOURCES = ['core', 'commands', 'adapters', 'bots', 'scripts'];

function newestSourceMs() {
  let newest = 0;
  for (const dir of SOURCES) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile())
        newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
    }
  }
  return newest;
}

export async function launch(entry) {
  const built = statSync(join(ROOT, 'dist', '.built'), { throwIfNoEntry: false });
  if (built && built.mtimeMs >= newestSourceMs()) {
    return import(pathToFileURL(join(ROOT, 'dist', `${entry}.js`)).href);
  }
  if (process.stderr.isTTY) {
    console.error('(running from the sources: `npm run build` makes every start faster)');
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(join(ROOT, `${entry}.ts`)).href);
}
