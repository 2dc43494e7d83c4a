/**
 * Loaders of the datasets' own annotation formats: each turns an images folder and an annotation
 * file into entries { id, file, captions } where `id` is the dataset's own image id (COCO's
 * numeric id, Flickr30k's file name, the corpus path of ChatIR, the CSV's file column).
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { z } from 'zod';

export const DATASET_KINDS = ['coco', 'flickr30k', 'chatir', 'folder'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface DatasetEntry {
  /** The dataset's own image id. */
  id: string;
  /** Absolute path of the image file. */
  file: string;
  captions: string[];
}

export interface LoadOptions {
  images: string;
  annotations: string;
  /** Karpathy split JSON: keep only this split (e.g. "test"). */
  split?: string;
}

const cocoSchema = z.object({
  images: z.array(z.object({ id: z.union([z.number(), z.string()]), file_name: z.string() })),
  annotations: z
    .array(z.object({ image_id: z.union([z.number(), z.string()]), caption: z.string() }))
    .default([]),
});

/** Karpathy's dataset_coco.json / dataset_flickr30k.json. */
const karpathySchema = z.object({
  images: z.array(
    z.object({
      filename: z.string(),
      filepath: z.string().optional(),
      imgid: z.number().optional(),
      cocoid: z.number().optional(),
      split: z.string().optional(),
      sentences: z.array(z.object({ raw: z.string() })).default([]),
    }),
  ),
});

/** ChatIR's search space: a JSON list of image paths relative to the images folder. */
const chatirSchema = z.array(z.string().min(1));

function parseJson<T>(text: string, schema: z.ZodType<T>, what: string, path: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not JSON (${(err as Error).message}); expected ${what}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${path} is not ${what}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF) with any one-character delimiter. */
export function parseCsv(text: string, delimiter = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === delimiter) {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

/** Groups captions by image, keeping the first-seen image order. */
function grouped(pairs: Iterable<{ id: string; file: string; caption?: string }>): DatasetEntry[] {
  const byId = new Map<string, DatasetEntry>();
  for (const p of pairs) {
    let entry = byId.get(p.id);
    if (!entry) {
      entry = { id: p.id, file: p.file, captions: [] };
      byId.set(p.id, entry);
    }
    const caption = p.caption?.trim();
    if (caption) entry.captions.push(caption);
  }
  return [...byId.values()];
}

function loadCoco(text: string, o: LoadOptions): DatasetEntry[] {
  const data = parseJson(text, cocoSchema, 'COCO captions JSON ({images, annotations})', o.annotations);
  const captions = new Map<string, string[]>();
  for (const a of data.annotations) {
    const id = String(a.image_id);
    captions.set(id, [...(captions.get(id) ?? []), a.caption.trim()]);
  }
  return data.images.map((img) => ({
    id: String(img.id),
    file: resolve(o.images, img.file_name),
    captions: captions.get(String(img.id)) ?? [],
  }));
}

function loadKarpathy(text: string, o: LoadOptions): DatasetEntry[] {
  const data = parseJson(
    text,
    karpathySchema,
    "Karpathy's split JSON ({images: [{filename, sentences}]})",
    o.annotations,
  );
  return data.images
    .filter((img) => !o.split || img.split === o.split)
    .map((img) => ({
      // COCO images keep COCO's id; Flickr30k's are known by their file name.
      id: img.cocoid !== undefined ? String(img.cocoid) : img.filename,
      file: resolve(o.images, img.filepath ?? '', img.filename),
      captions: img.sentences.map((s) => s.raw.trim()),
    }));
}

/** Flickr30k's results.csv: `image_name| comment_number| comment` (also plain comma CSV). */
function loadFlickrCsv(text: string, o: LoadOptions): DatasetEntry[] {
  const firstLine = text.slice(0, text.indexOf('\n') >>> 0);
  const rows = parseCsv(text, firstLine.includes('|') ? '|' : ',');
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  const image = header.indexOf('image_name');
  const comment = header.indexOf('comment');
  if (image < 0 || comment < 0)
    throw new Error(`${o.annotations}: expected a Flickr30k results.csv with columns image_name and comment`);
  return grouped(
    rows.slice(1).map((r) => {
      const name = (r[image] ?? '').trim();
      return { id: name, file: resolve(o.images, name), caption: r[comment] ?? '' };
    }),
  ).filter((e) => e.id !== '');
}

function loadChatir(text: string, o: LoadOptions): DatasetEntry[] {
  const list = parseJson(
    text,
    chatirSchema,
    "ChatIR's corpus list (a JSON array of image paths)",
    o.annotations,
  );
  return grouped(list.map((path) => ({ id: path, file: resolve(o.images, path) })));
}

/** A folder with a CSV of `file,caption` (header row; several rows per file add captions). */
function loadFolderCsv(text: string, o: LoadOptions): DatasetEntry[] {
  const rows = parseCsv(text);
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  const file = header.indexOf('file');
  const caption = header.indexOf('caption');
  if (file < 0) throw new Error(`${o.annotations}: expected a CSV with a header row "file,caption"`);
  return grouped(
    rows.slice(1).map((r) => {
      const name = (r[file] ?? '').trim();
      return {
        id: name,
        file: resolve(o.images, name),
        ...(caption >= 0 ? { caption: r[caption] ?? '' } : {}),
      };
    }),
  ).filter((e) => e.id !== '');
}

/** Reads a dataset's annotations; flickr30k takes results.csv or Karpathy's JSON. */
export async function loadDataset(kind: DatasetKind, options: LoadOptions): Promise<DatasetEntry[]> {
  const text = await readFile(options.annotations, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${options.annotations}: ${err.code ?? err.message}`);
  });
  const json = /^\s*[[{]/.test(text);
  let entries: DatasetEntry[];
  if (kind === 'coco')
    entries = json && text.includes('"sentences"') ? loadKarpathy(text, options) : loadCoco(text, options);
  else if (kind === 'flickr30k') entries = json ? loadKarpathy(text, options) : loadFlickrCsv(text, options);
  else if (kind === 'chatir') entries = loadChatir(text, options);
  else entries = loadFolderCsv(text, options);
  if (options.split && !(json && text.includes('"sentences"')))
    throw new Error(`--split applies to Karpathy's split JSON only; ${options.annotations} is not one`);
  if (entries.length === 0)
    throw new Error(
      `${basename(options.annotations)} lists no images${options.split ? ` in split "${options.split}"` : ''}`,
    );
  return entries;
}
