/**
 * `genir dataset import`: read a dataset's annotations, index its images with the configured
 * encoder (the `genir index` pipeline: progress bar, resumable, duplicates indexed once), then
 * record each dataset id beside its content id and captions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexedFiles } from '../../adapters/store/indexed-gallery.ts';
import { SqliteDatabase } from '../../adapters/store/sqlite/index.ts';
import { type DatasetImage, DatasetImages } from './ids.ts';
import type { DatasetEntry } from './loaders.ts';

/** Writes the list file `genir index` reads (one absolute path a line); returns its path. */
export async function writeImageList(galleryDir: string, entries: readonly DatasetEntry[]): Promise<string> {
  await mkdir(galleryDir, { recursive: true });
  const path = join(galleryDir, 'dataset-images.txt');
  await writeFile(path, entries.map((e) => `${e.file}\n`).join(''));
  return path;
}

export interface RecordedIds {
  /** Dataset images now searchable by their id. */
  mapped: number;
  /** Dataset ids whose file was not indexed (missing or unreadable: see the index summary). */
  unmapped: string[];
}

/** After indexing: maps each dataset id to the asset its file became and stores the mapping. */
export function recordDatasetIds(
  galleryDb: string,
  entries: readonly DatasetEntry[],
  meta: Record<string, unknown>,
): RecordedIds {
  const db = SqliteDatabase.open(galleryDb);
  try {
    const assetOf = new Map(new IndexedFiles(db).all().map((r) => [r.source, r.assetId]));
    const images: DatasetImage[] = [];
    const unmapped: string[] = [];
    for (const e of entries) {
      const assetId = assetOf.get(e.file);
      if (assetId) images.push({ datasetId: e.id, assetId, file: e.file, captions: e.captions });
      else unmapped.push(e.id);
    }
    new DatasetImages(db).replace(images, { ...meta, count: images.length });
    return { mapped: images.length, unmapped };
  } finally {
    db.close();
  }
}
