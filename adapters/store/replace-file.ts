import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replace `path` with what `fill` writes to a temporary file beside it, then rename: readers see
 * the old file or the new one, never half of one. `durable` also fsyncs the file and its folder,
 * so the new file survives a power cut once this returns.
 */
export async function replaceFile(
  path: string,
  fill: (tmp: string) => Promise<void>,
  options: { durable?: boolean } = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fill(tmp);
    if (options.durable) await fsync(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  if (options.durable) {
    // Not supported everywhere (some platforms refuse fsync on directories): best effort.
    await fsync(dirname(path)).catch(() => {});
  }
}

async function fsync(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
