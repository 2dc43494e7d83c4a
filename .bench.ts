import sharp from 'sharp';
import { createRng } from './core/random.ts';
import { renderScene, sampleScene } from './core/scene/index.ts';
// CPU time per image (all threads of this process), robust to other load on the machine.
sharp.concurrency(1);
const rng = createRng(7);
const scenes = Array.from({ length: 1000 }, () => sampleScene(rng));
for (const size of [256, 512]) {
  for (const jit of [false, true]) {
    for (const s of scenes.slice(0, 50)) await renderScene(s, { size, jitter: jit ? createRng(1) : undefined });
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    let bytes = 0;
    for (const [i, s] of scenes.entries()) bytes += (await renderScene(s, { size, jitter: jit ? createRng(i) : undefined })).length;
    const wall = (performance.now() - t) / scenes.length;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000 / scenes.length;
    console.log(`${size}px ${jit ? 'jitter' : 'plain '} cpu ${cpuMs.toFixed(2)} ms/img, wall ${wall.toFixed(2)} ms/img, ${(bytes / scenes.length / 1024).toFixed(1)} KiB`);
  }
}
