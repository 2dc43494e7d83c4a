/**
 * `genir gallery list | bind | unbind`: which galleries exist (DATA_DIR/galleries, plus the demo
 * gallery) and which tenant — a Slack workspace, a Discord guild, the local web/terminal — or
 * channel searches which. Bindings live in the state store (GalleryBindingStore).
 */
import { basename } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../../bots/config.ts';
import { LOCAL_TENANT, type TenantId, tenantId } from '../../core/tenant.ts';

/** What the subcommands use, loaded when one runs: `genir --help` lists them without loading it. */
const modules = () => import('./command-modules.ts');

interface TenantOptions {
  slackTeam?: string;
  discordGuild?: string;
  local?: boolean;
  channel?: string;
}

/** The one tenant the options name; anything else is a usage error. */
export function tenantFromOptions(opts: TenantOptions): { tenant: TenantId; channel: string | null } {
  const named = [
    opts.slackTeam !== undefined &&
      tenantId(
        'slack',
        checkId(opts.slackTeam, /^[TE][A-Z0-9]{2,}$/, '--slack-team', 'a team id such as T0123ABCD'),
      ),
    opts.discordGuild !== undefined &&
      tenantId('discord', checkId(opts.discordGuild, /^\d{17,20}$/, '--discord-guild', 'a numeric guild id')),
    opts.local && LOCAL_TENANT,
  ].filter((t): t is string => typeof t === 'string');
  if (named.length !== 1)
    throw new InvalidArgumentError('name exactly one of --slack-team <T…>, --discord-guild <id> or --local');
  if (opts.channel !== undefined && named[0] === LOCAL_TENANT)
    throw new InvalidArgumentError('--channel goes with --slack-team or --discord-guild');
  return { tenant: named[0] as TenantId, channel: opts.channel ?? null };
}

function checkId(value: string, pattern: RegExp, flag: string, what: string): string {
  if (!pattern.test(value)) throw new InvalidArgumentError(`${flag} must be ${what} (got "${value}")`);
  return value;
}

/** A gallery people can search, by name or by the folder it was indexed from; throws when there is none. */
export async function resolveGalleryName(config: Config, value: string): Promise<string> {
  if (value === 'demo') return value;
  const { findGalleryDir, listGalleries } = await modules();
  const dir = await findGalleryDir(config.DATA_DIR, value);
  const name = basename(dir);
  if (!(await listGalleries(config.DATA_DIR)).some((g) => g.name === name))
    throw new Error(`no gallery "${value}" has been indexed yet; run: genir index <folder> --gallery <name>`);
  return name;
}

const withTenantOptions = (command: Command) =>
  command
    .option('--slack-team <id>', 'a Slack workspace (team id, T…)')
    .option('--discord-guild <id>', 'a Discord server (guild id)')
    .option('--local', 'the web playground and the terminal')
    .option('--channel <id>', 'only this channel of the workspace or server');

export function registerGalleryCommand(program: Command): Command {
  const gallery = program
    .command('gallery')
    .description('list galleries; choose which one each workspace searches');

  gallery
    .command('list')
    .description('the indexed galleries and which workspace or channel searches each')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { listGalleries, loadConfig, openStores } = await modules();
      const config = loadConfig();
      const galleries = await listGalleries(config.DATA_DIR);
      const stores = await openStores(config);
      try {
        const bindings = await stores.bindings.list();
        const boundTo = (name: string) =>
          bindings
            .filter((b) => b.gallery === name)
            .map((b) => (b.channel ? `${b.tenant} #${b.channel}` : b.tenant));
        const local = config.GALLERY;
        const rows = [
          { name: 'demo', sources: ['(built-in offline scenes)'], assets: null as number | null },
          ...galleries,
        ].map((g) => ({
          name: g.name,
          sources: g.sources,
          assets: g.assets,
          boundTo: [...(g.name === local ? [`${LOCAL_TENANT} (GALLERY)`] : []), ...boundTo(g.name)],
        }));
        if (opts.json) {
          console.log(JSON.stringify({ galleries: rows, bindings }));
          return;
        }
        for (const r of rows) {
          const size = r.assets === null ? '' : ` — ${r.assets} images`;
          console.log(`${r.name}${size}\n  from: ${r.sources.join(', ') || '?'}`);
          console.log(`  searched by: ${r.boundTo.join(', ') || 'nobody yet (genir gallery bind)'}`);
        }
        const orphans = bindings.filter((b) => !rows.some((r) => r.name === b.gallery));
        for (const b of orphans)
          console.log(
            `! ${b.tenant}${b.channel ? ` #${b.channel}` : ''} is bound to "${b.gallery}", which is not indexed`,
          );
      } finally {
        await stores.close();
      }
    });

  withTenantOptions(
    gallery
      .command('bind')
      .description(
        'make a workspace, server or channel search a gallery (its name, or the folder it was indexed from)',
      )
      .argument('<gallery>', 'gallery name or folder'),
  ).action(async (value: string, opts: TenantOptions) => {
    const { tenant, channel } = tenantFromOptions(opts);
    const { loadConfig, openStores } = await modules();
    const config = loadConfig();
    const name = await resolveGalleryName(config, value);
    const stores = await openStores(config);
    try {
      await stores.bindings.bind({ tenant, channel, gallery: name });
    } finally {
      await stores.close();
    }
    console.log(
      `${tenant}${channel ? ` #${channel}` : ''} now searches gallery ${name} (running bots pick it up on their next round).`,
    );
  });

  withTenantOptions(
    gallery.command('unbind').description('stop a workspace, server or channel searching its gallery'),
  ).action(async (opts: TenantOptions) => {
    const { tenant, channel } = tenantFromOptions(opts);
    const { loadConfig, openStores } = await modules();
    const config = loadConfig();
    const stores = await openStores(config);
    try {
      const removed = await stores.bindings.unbind(tenant, channel);
      const where = `${tenant}${channel ? ` #${channel}` : ''}`;
      console.log(
        removed ? `${where} has no gallery of its own any more.` : `${where} had no gallery bound.`,
      );
    } finally {
      await stores.close();
    }
  });
  return gallery;
}
