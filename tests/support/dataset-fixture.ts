/**
 * A tiny COCO-shaped dataset for tests: `count` scenes drawn by the offline renderer as small
 * PNGs, a COCO captions file (two captions an image), a Flickr30k results.csv and a Karpathy
 * split JSON over the same images.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { captionScene, renderScene, sampleScene } from '../../adapters/scene/index.ts';
import { createRng } from '../../core/random.ts';

export interface DatasetFixture {
  images: string;
  coco: string;
  flickrCsv: string;
  karpathy: string;
  /** COCO ids in file order, and their file names. */
  ids: number[];
  files: string[];
  captions: Map<number, string[]>;
}

export async function makeDatasetFixture(dir: string, count = 24, size = 64): Promise<DatasetFixture> {
  const images = join(dir, 'val2014');
  await mkdir(images, { recursive: true });
  const rng = createRng(7);
  const ids: number[] = [];
  const files: string[] = [];
  const captions = new Map<number, string[]>();
  for (let i = 0; i < count; i++) {
    const scene = sampleScene(rng);
    const id = 391_000 + i * 7;
    const file = `COCO_val2014_${String(id).padStart(12, '0')}.png`;
    await writeFile(join(images, file), await renderScene(scene, { size }));
    ids.push(id);
    files.push(file);
    captions.set(id, [captionScene(scene), `a picture: ${captionScene(scene)}`]);
  }
  const coco = join(dir, 'captions_val2014.json');
  await writeFile(
    coco,
    JSON.stringify({
      info: { description: 'tiny COCO-shaped fixture' },
      images: ids.map((id, i) => ({ id, file_name: files[i], width: size, height: size })),
      annotations: ids.flatMap((id) =>
        (captions.get(id) ?? []).map((caption, k) => ({ id: id * 10 + k, image_id: id, caption })),
      ),
    }),
  );
  const flickrCsv = join(dir, 'results.csv');
  await writeFile(
    flickrCsv,
    `image_name| comment_number| comment\n${files
      .flatMap((f, i) => (captions.get(ids[i] as number) ?? []).map((c, k) => `${f}| ${k}| ${c}`))
      .join('\n')}\n`,
  );
  const karpathy = join(dir, 'dataset_coco.json');
  await writeFile(
    karpathy,
    JSON.stringify({
      dataset: 'coco',
      images: ids.map((id, i) => ({
        filepath: '',
        filename: files[i],
        imgid: i,
        cocoid: id,
        split: i % 2 ? 'test' : 'train',
        sentences: (captions.get(id) ?? []).map((raw) => ({ raw, tokens: raw.split(' ') })),
      })),
    }),
  );
  return { images, coco, flickrCsv, karpathy, ids, files, captions };
}
