import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { genir, ROOT } from '../support/genir-cli.ts';

// Each step starts a fresh process that transpiles the sources first: slow on a loaded machine.
describe('genir gallery', { timeout: 240_000 }, () => {
  it('finds a gallery by its name or its folder, binds it to workspaces and channels, and lists who searches what', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'genir-gallery-'));
    const pics = join(dir, 'pics');
    await mkdir(pics);
    for (const [i, background] of ['red', 'blue', 'green'].entries())
      await sharp({ create: { width: 48, height: 48, channels: 3, background } })
        .png()
        .toFile(join(pics, `${i}.png`));
    const env = { DATA_DIR: join(dir, 'data'), ENCODER_MODEL: join(ROOT, 'models', 'tiny-encoder.onnx') };

    expect((await genir(['index', pics, '--gallery', 'mixed'], env)).code).toBe(0);
    // The folder again: the same gallery is updated, no second copy.
    const again = await genir(['index', pics, '--json'], env);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1) as string).summary).toMatchObject({
      indexed: 0,
    });

    expect((await genir(['gallery', 'bind', pics, '--slack-team', 'T0123ABCD'], env)).stdout).toContain(
      'slack:T0123ABCD now searches gallery mixed',
    );
    const guild = ['gallery', 'bind', 'demo', '--discord-guild', '123456789012345678'];
    expect((await genir([...guild, '--channel', '223456789012345678'], env)).code).toBe(0);

    const unknown = await genir(['gallery', 'bind', 'nope', '--local'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no gallery "nope" has been indexed yet');
    const twoTenants = await genir(['gallery', 'bind', 'mixed', '--local', '--slack-team', 'T0123ABCD'], env);
    expect(twoTenants.code).not.toBe(0);
    expect(twoTenants.stderr).toContain('name exactly one of');

    const listed = JSON.parse((await genir(['gallery', 'list', '--json'], env)).stdout) as {
      galleries: { name: string; assets: number | null; boundTo: string[] }[];
    };
    expect(listed.galleries).toEqual([
      {
        name: 'demo',
        sources: ['(built-in offline scenes)'],
        assets: null,
        boundTo: ['local (GALLERY)', 'discord:123456789012345678 #223456789012345678'],
      },
      { name: 'mixed', sources: [pics], assets: 3, boundTo: ['slack:T0123ABCD'] },
    ]);

    expect((await genir(['gallery', 'unbind', '--slack-team', 'T0123ABCD'], env)).stdout).toContain(
      'has no gallery of its own any more',
    );
    const after = await genir(['gallery', 'list'], env);
    expect(after.stdout).toContain('searched by: nobody yet (genir gallery bind)');
  });
});
