/**
 * `npm run build` (also run by `npm install` / `npm ci` through `prepare`): compiles the sources to
 * dist/ with tsc, copies the files the code finds next to itself (the web page, the encoder's
 * worker script), and stamps the build. bin/launch.js runs dist/ while it is newer than every source.
 */
import { execFileSync } from 'node:child_process';
import { cp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Non-TypeScript files the compiled code loads relative to itself (import.meta.url). */
const ASSETS = ['adapters/chat/web/page', 'adapters/encode/onnx/session-worker.mjs'];

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');

await rm(stamp, { force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const asset of ASSETS) await cp(join(root, asset), join(dist, asset), { recursive: true });
await writeFile(stamp, `${new Date().toISOString()}\n`);
console.log(`built ${dist}`);
