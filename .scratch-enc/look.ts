import sharp from 'sharp';
import { createRng, renderScene, sampleScene } from './scenes2.ts';
const rng = createRng(3);
const tiles: Buffer[] = [];
for (let i = 0; i < 4; i++) { const sc = sampleScene(rng); for (let j = 0; j < 2; j++) tiles.push(await renderScene(sc, { jitter: createRng(i * 10 + j) })); }
const comp = await Promise.all(tiles.map(async (t, i) => ({ input: await sharp(t).resize(64, 64, { fit: 'fill', kernel: 'cubic' }).resize(128, 128, { kernel: 'nearest' }).png().toBuffer(), left: (i % 4) * 260, top: Math.floor(i / 4) * 260 })));
const comp2 = tiles.map((t, i) => ({ input: t, left: (i % 4) * 260 + 0, top: 540 + Math.floor(i / 4) * 260 }));
await sharp({ create: { width: 1040, height: 1060, channels: 3, background: '#888' } }).composite([...comp, ...comp2]).png().toFile('.scratch-enc/look.png');
