import type {
  ChatEngine,
  ChatFrontEnd,
  Gallery,
  Logger,
  RoundImageStore,
  TenantInstallations,
} from '../core/ports.ts';
import type { Config } from './config.ts';
import { discordFrontEnd } from './discord.ts';
import { slackFrontEnd } from './slack.ts';
import { webFrontEnd } from './web.ts';

/** What a front end is built from (bots/runtime.ts's Runtime has all of it). */
export interface FrontEndDeps {
  engine: ChatEngine;
  config: Config;
  logger: Logger;
  gallery: Gallery;
  images: RoundImageStore;
  /** Workspaces and guilds adding and removing the bot (installations, grace period). */
  tenants?: TenantInstallations;
}

/** How the composition root builds one chat front end from config. */
export interface FrontEndFactory<F extends ChatFrontEnd = ChatFrontEnd> {
  readonly name: string;
  /** Whether the config has what this front end needs (its credentials). */
  configured(config: Config): boolean;
  /** Builds it, not started (loading its platform's SDK only now); a missing setting throws a ConfigError. */
  create(deps: FrontEndDeps): Promise<F>;
  /** One line for the console once it runs. */
  describe(frontEnd: F): string;
}

/** The chat platforms, started when configured. Adding one is a folder in adapters/chat/ and a line here. */
export const PLATFORMS: readonly FrontEndFactory[] = [discordFrontEnd, slackFrontEnd];

/** What `npm start` runs when no platform is configured. */
export const FALLBACK: FrontEndFactory = webFrontEnd;

export function configuredFrontEnds(config: Config): readonly FrontEndFactory[] {
  const platforms = PLATFORMS.filter((p) => p.configured(config));
  return platforms.length > 0 ? platforms : [FALLBACK];
}

/** Builds and starts one front end. */
export async function startFrontEnd<F extends ChatFrontEnd>(
  factory: FrontEndFactory<F>,
  deps: FrontEndDeps,
): Promise<F> {
  const frontEnd = await factory.create(deps);
  await frontEnd.start();
  return frontEnd;
}
