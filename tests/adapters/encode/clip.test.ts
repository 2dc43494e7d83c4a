/**
 * The CLIP text tower and the CLIP encoder, on small ONNX graphs built here with the input and
 * output names and shapes of the Hugging Face CLIP exports, and a small BPE tokenizer.json in
 * CLIP's format (tests/fakes/hub/fixtures/clip-tokenizer).
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipEncoder } from '../../../adapters/encode/onnx/clip.ts';
import { EncoderConfigError } from '../../../adapters/encode/onnx/encoder.ts';
import { ClipTextEncoder, ClipTokenizer } from '../../../adapters/encode/onnx/text-encoder.ts';
import { fuseBase } from '../../../core/ranking.ts';
import {
  buildClipTextModel,
  buildClipVisionModel,
  clipVisionConfig,
  l2,
} from '../../fakes/hub/clip-graphs.ts';

const FIXTURE = 'tests/fakes/hub/fixtures/clip-tokenizer';
const VOCAB = 100; // the fixture's vocabulary size
const CLIP_CONFIG = clipVisionConfig('fake-clip');

let dir: string;
let tokenizer: ClipTokenizer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-clip-text-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(FIXTURE, f), join(dir, f));
  tokenizer = await ClipTokenizer.load(join(dir, 'tokenizer.json'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const close = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
};

async function writeModel(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe('ClipTokenizer (tokenizer.json through @huggingface/tokenizers)', () => {
  it("applies CLIP's normalizer, split and BPE merges with </w> word ends", () => {
    expect(tokenizer.tokens('The  RED fox, of Orange')).toEqual([
      'the</w>',
      'red</w>',
      'fox</w>',
      ',</w>',
      'of</w>',
      'o',
      'r',
      'a',
      'n',
      'g',
      'e</w>',
    ]);
  });

  it('wraps in start/end tokens, pads to 77 with the pad token, masks the padding', () => {
    const { bosId, eosId, padId } = tokenizer;
    expect([bosId, eosId, padId]).toEqual([98, 99, 99]);
    const batch = tokenizer.batch(['a red fox']);
    const ids = batch.ids[0]!;
    expect(ids).toHaveLength(77);
    const word = (w: string) => tokenizer.ids(w)[1];
    expect(ids.slice(0, 5)).toEqual([bosId, word('a'), word('red'), word('fox'), eosId]);
    expect(ids.slice(5).every((x) => x === padId)).toBe(true);
    expect(batch.masks[0]!.slice(0, 6)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(batch.eos).toEqual([4]);
  });

  it('truncates long texts to 77 tokens, keeping the end token last', () => {
    const long = 'the red fox '.repeat(40);
    const ids = tokenizer.ids(long);
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(98);
    expect(ids[76]).toBe(99);
    expect(ids.slice(1, 76).includes(99)).toBe(false);
    expect(tokenizer.batch([long]).eos).toEqual([76]);
  });
});

describe('ClipTextEncoder', () => {
  it('runs a text_embeds export: eos pooling as the export does it, L2-normalized', async () => {
    const model = buildClipTextModel({ vocab: VOCAB, hidden: 8, dim: 512 });
    const path = await writeModel('text_model.onnx', model.bytes);
    const enc = await ClipTextEncoder.load({ modelPath: path, intraOpThreads: 1 });
    try {
      expect(enc.dim).toBe(512); // learned at warm-up
      const texts = ['a red fox', 'the blue photo', 'the red fox '.repeat(40)];
      const vectors = await enc.embedTexts(texts);
      for (const [i, t] of texts.entries()) close(vectors[i]!, l2(model.expected(tokenizer.ids(t))));
      expect(Math.hypot(...vectors[0]!)).toBeCloseTo(1, 5);
      // padding after the end token does not change the vector
      const [again] = await enc.embedTexts(['a red fox']);
      close(again!, vectors[0]!);
    } finally {
      await enc.close();
    }
  });

  it('feeds attention_mask when the export has it, and int32 ids when it asks for them', async () => {
    const model = buildClipTextModel({
      vocab: VOCAB,
      hidden: 8,
      dim: 64,
      attentionMask: true,
      idsType: 'int32',
      seqLength: 'dynamic',
    });
    const path = await writeModel('text_mask.onnx', model.bytes);
    const enc = await ClipTextEncoder.load({ modelPath: path, tokenizerPath: join(dir, 'tokenizer.json') });
    try {
      const [v] = await enc.embedTexts(['the red fox']);
      close(v!, l2(model.expected(tokenizer.ids('the red fox'))));
    } finally {
      await enc.close();
    }
  });

  it('pools at the end token itself for exports that only give last_hidden_state', async () => {
    const model = buildClipTextModel({ vocab: VOCAB, hidden: 16, dim: 16, hiddenOnly: true });
    const path = await writeModel('text_hidden.onnx', model.bytes);
    const enc = await ClipTextEncoder.load({ modelPath: path, config: { outputName: 'last_hidden_state' } });
    try {
      const [v] = await enc.embedTexts(['blue photo of a fox']);
      close(v!, l2(model.expected(tokenizer.ids('blue photo of a fox'))));
    } finally {
      await enc.close();
    }
  });

  it('reads a config next to the model and says clearly what does not match', async () => {
    const model = buildClipTextModel({ vocab: VOCAB, hidden: 8, dim: 32, seqLength: 77 });
    const path = await writeModel('text_cfg.onnx', model.bytes);
    await writeFile(join(dir, 'text_cfg.json'), JSON.stringify({ id: 'clip-text', dim: 32, maxLength: 77 }));
    const enc = await ClipTextEncoder.load({ modelPath: path });
    expect(enc.id).toBe('clip-text');
    await enc.close();

    await expect(ClipTextEncoder.load({ modelPath: path, config: { maxLength: 64 } })).rejects.toThrow(
      /takes 77 tokens, config says 64/,
    );
    await expect(
      ClipTextEncoder.load({ modelPath: path, config: { outputName: 'pooler_output' } }),
    ).rejects.toThrow(/output "pooler_output" not found \(model outputs: text_embeds\)/);
    await expect(ClipTextEncoder.load({ modelPath: path, config: { dim: 512 } })).rejects.toThrow(
      /gives 32 dims, config says 512/,
    );
    const lonely = await mkdtemp(join(tmpdir(), 'genir-no-tok-'));
    try {
      await writeFile(join(lonely, 'm.onnx'), model.bytes);
      await expect(ClipTextEncoder.load({ modelPath: join(lonely, 'm.onnx') })).rejects.toThrow(
        /no tokenizer\.json next to .*m\.onnx; set ENCODER_TOKENIZER/,
      );
    } finally {
      await rm(lonely, { recursive: true, force: true });
    }
    await expect(
      ClipTextEncoder.load({ modelPath: path, tokenizerPath: join(FIXTURE, 'tokenizer_config.json') }),
    ).rejects.toBeInstanceOf(EncoderConfigError);
  });
});

describe('CLIP encoder (image + text towers)', () => {
  let visionPath: string;
  let textPath: string;
  beforeAll(async () => {
    const sub = join(dir, 'clip');
    await mkdir(join(sub, 'onnx'), { recursive: true });
    visionPath = join(sub, 'onnx', 'vision_model.onnx');
    textPath = join(sub, 'onnx', 'text_model.onnx');
    await writeFile(visionPath, buildClipVisionModel(512));
    await writeFile(join(sub, 'onnx', 'vision_model.json'), JSON.stringify(CLIP_CONFIG));
    await writeFile(textPath, buildClipTextModel({ vocab: VOCAB, hidden: 8, dim: 512 }).bytes);
    // HF layout: tokenizer files at the repo root, models under onnx/
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      await copyFile(join(FIXTURE, f), join(sub, f));
  });

  it('loads both towers (warmed), keeps the image id/dim/preprocessing, and embeds both', async () => {
    const enc = await ClipEncoder.load({
      image: { modelPath: visionPath, intraOpThreads: 1 },
      text: { modelPath: textPath, intraOpThreads: 1 },
    });
    try {
      expect(enc.id).toBe('fake-clip');
      expect(enc.dim).toBe(512);
      expect(enc.preprocessing.resize).toBe('shortest-crop');
      const png = await sharp({
        create: { width: 320, height: 200, channels: 3, background: { r: 200, g: 90, b: 20 } },
      })
        .png()
        .toBuffer();
      const [image] = await enc.embedImages([png]);
      const [text] = await enc.embedTexts(['an orange fox']);
      expect(image!.length).toBe(512);
      expect(text!.length).toBe(512);
      // the engine's text+image fusion works on the pair
      const fused = fuseBase(image!, text!, 0.3);
      expect(Math.hypot(...fused)).toBeCloseTo(1, 5);
    } finally {
      await enc.close();
    }
  });

  it('refuses towers of different sizes', async () => {
    const other = await writeModel(
      'text_64.onnx',
      buildClipTextModel({ vocab: VOCAB, hidden: 8, dim: 64 }).bytes,
    );
    await expect(
      ClipEncoder.load({
        image: { modelPath: visionPath },
        text: { modelPath: other, tokenizerPath: join(dir, 'tokenizer.json') },
      }),
    ).rejects.toThrow(
      'the text model gives 64-dim vectors but the image model 512: they are not the same CLIP',
    );
  });
});
