import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExactIndex } from '../../../adapters/index/exact/index.ts';
import { vectorIndexContract } from '../../contracts/vector-index.ts';

let dir: string | null = null;
let n = 0;

vectorIndexContract('exact', {
  async location() {
    dir ??= await mkdtemp(join(tmpdir(), 'genir-exact-contract-'));
    const path = join(dir, `${n++}.exact`);
    return { open: (header) => ExactIndex.open(path, header) };
  },
  async cleanup() {
    if (dir) await rm(dir, { recursive: true, force: true });
  },
});
