import { createHash } from 'node:crypto';
import { readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { RoundImageStore } from '../../core/ports.ts';
import type { ThreadKey } from '../../core/types.ts';
import { replaceFile } from './replace-file.ts';

/** Ids that are already safe file names are used as they are. */
const SAFE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A safe, collision-free file name for an arbitrary string: unsafe characters become '_', the
 * result is shortened, and a short hash of the original is appended ("discord_1_2_3-9f2c1a7b0d").
 */
export function safeFileName(text: string): string {
  const readable = text.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 10);
  return `${readable}-${hash}`;
}

/** The relative path of a round's synthetic image: "<safe thread key>/<safe round id>.png". */
export function roundImageRef(key: ThreadKey, roundId: string): string {
  const file = SAFE_NAME.test(roundId) ? roundId : safeFileName(roundId);
  return `${safeFileName(key)}/${file}.png`;
}

/** Synthetic round images as PNG files under one root directory. */
export class FileRoundImageStore implements RoundImageStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Write the PNG (atomically: temp file + rename) and return its path relative to the root. */
  async put(key: ThreadKey, roundId: string, png: Buffer): Promise<string> {
    const ref = roundImageRef(key, roundId);
    const path = join(this.root, ref);
    await replaceFile(path, (tmp) => writeFile(tmp, png));
    return ref;
  }

  /**
   * The PNG for a ref returned by put(), or null when it does not exist. Throws for refs that
   * would leave the root (absolute paths, '..', symlinks pointing outside).
   */
  async get(ref: string): Promise<Buffer | null> {
    const path = this.resolveRef(ref);
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return null;
    }
    const realRoot = await realpath(this.root).catch(() => this.root);
    if (!isInside(realRoot, real)) throw new Error(`round image ref escapes the store root: ${ref}`);
    try {
      return await readFile(real);
    } catch {
      return null;
    }
  }

  async delete(ref: string): Promise<void> {
    await rm(this.resolveRef(ref), { force: true });
  }

  /** Delete every image of a thread (for "forget"). */
  async deleteThread(key: ThreadKey): Promise<void> {
    await rm(join(this.root, safeFileName(key)), { recursive: true, force: true });
  }

  private resolveRef(ref: string): string {
    if (!ref || ref.includes('\0') || isAbsolute(ref) || /^[A-Za-z]:/.test(ref)) {
      throw new Error(`round image ref escapes the store root: ${ref}`);
    }
    const path = resolve(this.root, ref);
    if (!isInside(this.root, path)) {
      throw new Error(`round image ref escapes the store root: ${ref}`);
    }
    return path;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
