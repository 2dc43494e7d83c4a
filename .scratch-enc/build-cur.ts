import { writeFileSync } from 'node:fs';
import { buildTinyEncoder, TINY_ENCODER_PARAMS } from '../scripts/build-tiny-encoder.ts';
const extra = JSON.parse(process.env.P ?? '{}');
const { model, config } = buildTinyEncoder({ ...TINY_ENCODER_PARAMS, ...extra });
writeFileSync('.scratch-enc/cur.onnx', model); writeFileSync('.scratch-enc/cur.json', JSON.stringify(config));
