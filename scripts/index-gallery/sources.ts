/**
 * What `genir index` is given, turned into candidate files: folders are walked (image extensions,
 * case-insensitive; dot-files and dot-folders skipped; symlinks followed only when their target
 * stays inside the folder, each real folder once), list files are read (one path or URL per line,
 * `#` comments; relative paths are relative to the list file), single images are taken as is.
 */
import { opendir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff']);

export const isImagePath = (path: string): boolean => IMAGE_EXTENSIONS.has(extname(path).toLowerCase());

export type Candidate =
  | { kind: 'file'; source: string; mtime: number; size: number }
  | { kind: 'url'; source: string }
  /** Named in a list but not readable: reported as a bad file. */
  | { kind: 'missing'; source: string; reason: string };

export interface CollectResult {
  candidates: Candidate[];
  /** Notes for the summary (skipped symlinks, list lines that are not paths…). */
  notes: string[];
}

/** Largest list file read (a list of a million URLs is ~100 MB). */
const MAX_LIST_BYTES = 256 * 1024 * 1024;

/**
 * `include` (sharded indexing) keeps only the paths and URLs it accepts; it is asked before a file
 * is stat'ed, so the others are never touched.
 */
export async function collectSources(
  sources: readonly string[],
  cwd = process.cwd(),
  include: (source: string) => boolean = () => true,
): Promise<CollectResult> {
  const out: Candidate[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const add = (c: Candidate) => {
    if (seen.has(c.source) || !include(c.source)) return;
    seen.add(c.source);
    out.push(c);
  };
  for (const raw of sources) {
    if (isUrl(raw)) {
      add({ kind: 'url', source: normalizeUrl(raw) });
      continue;
    }
    const path = resolve(cwd, raw);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (err) {
      throw new Error(`cannot read ${raw}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (info.isDirectory()) await walk(path, add, notes, include);
    else if (isImagePath(path))
      add({ kind: 'file', source: path, mtime: Math.floor(info.mtimeMs), size: info.size });
    else await readList(path, info.size, add, notes, include);
  }
  return { candidates: out, notes };
}

async function walk(
  root: string,
  add: (c: Candidate) => void,
  notes: string[],
  include: (source: string) => boolean,
): Promise<void> {
  const realRoot = await realpath(root);
  const visited = new Set<string>([realRoot]);
  const inside = (real: string) => {
    const rel = relative(realRoot, real);
    return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  };
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await opendir(dir);
    } catch (err) {
      notes.push(`skipped folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    const entries: { name: string; dir: boolean; file: boolean; link: boolean }[] = [];
    for await (const e of handle) {
      entries.push({ name: e.name, dir: e.isDirectory(), file: e.isFile(), link: e.isSymbolicLink() });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = resolve(dir, e.name);
      let isDir = e.dir;
      let isFile = e.file;
      if (e.link) {
        let real: string;
        try {
          real = await realpath(path);
        } catch {
          notes.push(`skipped broken symlink ${path}`);
          continue;
        }
        if (!inside(real)) {
          notes.push(`skipped symlink ${path}: it points outside ${root}`);
          continue;
        }
        const target = await stat(real).catch(() => null);
        if (!target) continue;
        isDir = target.isDirectory();
        isFile = target.isFile();
        if (isDir) {
          if (visited.has(real)) continue;
          visited.add(real);
        }
      } else if (isDir) {
        const real = await realpath(path).catch(() => path);
        if (visited.has(real)) continue;
        visited.add(real);
      }
      if (isDir) subdirs.push(path);
      else if (isFile && isImagePath(path) && include(path)) {
        const info = await stat(path).catch(() => null);
        if (info) add({ kind: 'file', source: path, mtime: Math.floor(info.mtimeMs), size: info.size });
      }
    }
    // Depth-first in name order (reverse push so the first name is walked first).
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as string);
  }
}

async function readList(
  path: string,
  size: number,
  add: (c: Candidate) => void,
  notes: string[],
  include: (source: string) => boolean,
): Promise<void> {
  if (size > MAX_LIST_BYTES) throw new Error(`list file ${path} is larger than ${MAX_LIST_BYTES >> 20} MB`);
  const text = await readFile(path, 'utf8');
  if (text.includes('\u0000')) {
    throw new Error(
      `${path} is neither a folder, an image (${[...IMAGE_EXTENSIONS].join(' ')}) nor a text list`,
    );
  }
  const base = dirname(path);
  let lineNo = 0;
  for (const rawLine of text.split(/\r?\n/)) {
    lineNo++;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (isUrl(line)) {
      add({ kind: 'url', source: normalizeUrl(line) });
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(line) && !/^file:/i.test(line)) {
      notes.push(`${path}:${lineNo}: unsupported URL scheme (http, https and file only): ${line}`);
      continue;
    }
    let target: string;
    try {
      target = /^file:/i.test(line) ? fileURLToPath(line) : resolve(base, line);
    } catch {
      add({ kind: 'missing', source: line, reason: 'not a valid path or URL' });
      continue;
    }
    // A folder named in the list is walked; a file of another shard is not stat'ed.
    if (isImagePath(target) && !include(target)) continue;
    const info = await stat(target).catch((err: NodeJS.ErrnoException) => err);
    if (info instanceof Error) {
      add({
        kind: 'missing',
        source: target,
        reason: info.code === 'ENOENT' ? 'file not found' : `cannot read (${info.code})`,
      });
    } else if (info.isDirectory()) {
      await walk(target, add, notes, include);
    } else if (!isImagePath(target)) {
      add({
        kind: 'missing',
        source: target,
        reason: `unsupported file type "${extname(target) || basename(target)}"`,
      });
    } else {
      add({ kind: 'file', source: target, mtime: Math.floor(info.mtimeMs), size: info.size });
    }
  }
}

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

function normalizeUrl(s: string): string {
  try {
    return new URL(s).href;
  } catch {
    return s;
  }
}

/** "summer_banner-fox.v2.png" → "summer banner fox v2"; URLs use their last path segment. */
export function titleFromSource(source: string): string {
  let name = source;
  if (isUrl(source)) {
    try {
      const u = new URL(source);
      name = decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() ?? u.hostname);
    } catch {
      name = source;
    }
  } else name = basename(source);
  const ext = extname(name);
  if (ext && IMAGE_EXTENSIONS.has(ext.toLowerCase())) name = name.slice(0, -ext.length);
  const title = name
    .replace(/[_\-.+]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return title || name || 'image';
}
