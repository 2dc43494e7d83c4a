/**
 * One behaviour suite for every chat front end (terminal, Discord, Slack, web), through the
 * `ChatFrontEnd` port. Each adapter's test file provides a harness: the started front end, and a
 * driver that acts the way a person would on that platform (through the platform's fake server)
 * and reads back what the bot posted. The suite waits with the port's idle() and ends with its stop().
 */
import { describe, expect, it } from 'vitest';
import type { ActionName } from '../../commands/index.ts';
import type { ChatFrontEnd } from '../../core/ports.ts';

export interface HarnessPost {
  kind: 'round' | 'found' | 'notice';
  /** All visible text of the post, as the platform shows it (escaped where the platform escapes). */
  text: string;
  /** Number of images attached/uploaded with the post. */
  images: number;
  /** Round number, for round posts. */
  round?: number;
  /** Only the person who acted sees it (Discord ephemeral reply, Slack chat.postEphemeral). */
  ephemeral?: boolean;
}

/** A page the person installing is shown at the end of an install. */
export interface InstallPage {
  status: number;
  text: string;
}

/**
 * Where tenants install the bot through OAuth (Slack): the install flow as a browser and the
 * platform would drive it. The harness's own tenant (where start() searches) is installed this way.
 */
export interface InstallDriver {
  /** How many installations are stored. */
  installations(): Promise<number>;
  /** The redirect back from the platform with a valid code for a new tenant but a state this server never issued. */
  forgedState(): Promise<InstallPage>;
  /** The redirect of the harness tenant's install, sent again: same code, state and cookie. */
  replayInstall(): Promise<InstallPage>;
  /** The harness tenant removes the app (the platform revokes its token and sends the uninstall event). */
  uninstall(): Promise<void>;
  /** A search started in the harness tenant as a person would, whatever the bot answers. */
  attempt(text: string): Promise<void>;
}

export interface ChatHarness {
  /** The front end under test, started. */
  frontEnd: ChatFrontEnd;
  /** Start a search the platform's main way (slash command / first message); returns a thread handle. */
  start(text: string): Promise<string>;
  /** A person's message in the thread. */
  say(thread: string, text: string): Promise<void>;
  /** Press the control of `action` (with match number n) on round `round` (default: the latest). */
  act(thread: string, action: ActionName, n?: number, round?: number): Promise<void>;
  /** Everything the bot posted in the thread so far, in order (read once the front end is idle). */
  posts(thread: string): Promise<HarnessPost[]>;
  /** Closes what the harness runs besides the front end (the platform's fake). */
  close(): Promise<void>;
  /**
   * Where the platform has tenants (Slack workspaces, Discord guilds): start a search as a
   * workspace or guild the bot is not installed in would, through the platform's fake.
   */
  startInForeignTenant?(text: string): Promise<void>;
  /** How many posts (not private replies) the bot has made anywhere. */
  publicPostCount?(): number;
  /** Where the platform installs per tenant through OAuth. */
  installs?: InstallDriver;
}

export interface HarnessCapabilities {
  /** false where controls always act on the latest round (typed commands): no stale controls exist. */
  staleControls: boolean;
  /** true where the platform has tenants the bot may not be installed in (the harness then starts searches there). */
  foreignTenants?: boolean;
  /** true where tenants install the bot through OAuth (the harness then has `installs`). */
  installs?: boolean;
}

const rounds = (posts: HarnessPost[]) => posts.filter((p) => p.kind === 'round');

type Driver = Omit<ChatHarness, 'frontEnd' | 'close'>;

export function chatAdapterContract(
  name: string,
  makeHarness: () => Promise<ChatHarness>,
  capabilities: HarnessCapabilities = { staleControls: true },
): void {
  describe(`chat adapter contract: ${name}${capabilities.installs ? ' (OAuth installs)' : ''}`, () => {
    const withHarness = (fn: (h: Driver) => Promise<void>) => async () => {
      const h = await makeHarness();
      try {
        await fn({
          ...h,
          async posts(thread) {
            await h.frontEnd.idle();
            return h.posts(thread);
          },
        });
      } finally {
        await h.frontEnd.stop();
        await h.close();
      }
    };

    it('is a named front end that settles and stops', async () => {
      const h = await makeHarness();
      try {
        expect(h.frontEnd.name).toBe(name);
        const t = await h.start('a red circle');
        await h.frontEnd.idle();
        expect(rounds(await h.posts(t))).toHaveLength(1);
      } finally {
        await h.frontEnd.stop();
        await h.close();
      }
    });

    it(
      'starts a search: round 1 with the synthetic image, the contact sheet and the query',
      withHarness(async (h) => {
        const t = await h.start('a red circle at the top left');
        const [r1] = rounds(await h.posts(t));
        expect(r1?.round).toBe(1);
        expect(r1?.images).toBe(2);
        expect(r1?.text).toContain('a red circle at the top left');
      }),
    );

    it(
      'treats a later message in the thread as a refinement (round 2)',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        await h.say(t, 'it is blue');
        const rs = rounds(await h.posts(t));
        expect(rs.map((r) => r.round)).toEqual([1, 2]);
        expect(rs[1]?.text).toContain('it is blue');
      }),
    );

    it(
      'picks a match: the thread is marked found and the original is posted',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        await h.act(t, 'pick', 2);
        const found = (await h.posts(t)).find((p) => p.kind === 'found');
        expect(found).toBeDefined();
        expect(found?.text.length).toBeGreaterThan(0);
      }),
    );

    it(
      'runs more-like, not-these, regenerate and undo as rounds',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        await h.act(t, 'more', 3);
        await h.act(t, 'not');
        await h.act(t, 'regen');
        await h.act(t, 'undo');
        const rs = rounds(await h.posts(t));
        expect(rs.map((r) => r.round)).toEqual([1, 2, 3, 4, 3]);
      }),
    );

    it.skipIf(!capabilities.staleControls)(
      'answers a control of an older round as stale, only to the person who pressed it',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        await h.say(t, 'it is blue');
        await h.act(t, 'pick', 1, 1);
        const posts = await h.posts(t);
        const stale = posts.at(-1);
        expect(stale?.text).toContain('no longer current');
        expect(stale?.ephemeral).toBe(true);
        expect(posts.some((p) => p.kind === 'found')).toBe(false);
      }),
    );

    it(
      'says what it did not understand, with examples, and draws nothing',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        await h.say(t, 'pick 3');
        await h.say(t, 'https://example.com/cat.png');
        const posts = await h.posts(t);
        expect(rounds(posts)).toHaveLength(1);
        const [slash, link] = posts.slice(-2).map((p) => p.text);
        expect(slash).toContain('I did not understand "pick 3" (a command needs its slash: /pick 3)');
        expect(link).toContain('I did not understand a link, so I drew nothing.');
        expect(link).toMatch(/for example:\n• /);
      }),
    );

    it(
      'answers an empty or unknown command with help, not silence',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        await h.say(t, '/frobnicate');
        expect((await h.posts(t)).at(-1)?.text).toContain('Unknown command');
      }),
    );

    it(
      'shows the research notice on round 1 and keeps the search when the person presses Keep',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        const [r1] = rounds(await h.posts(t));
        expect(r1?.text).toContain('Research:');
        await h.act(t, 'keep');
        expect((await h.posts(t)).at(-1)?.text).toContain('kept for research');
      }),
    );

    it(
      'forgets the person: their search and transcripts are deleted and they are told so',
      withHarness(async (h) => {
        const t = await h.start('a red circle');
        await h.act(t, 'forget');
        expect((await h.posts(t)).at(-1)?.text).toContain('Deleted 1 search and');
      }),
    );

    it.skipIf(!capabilities.foreignTenants)(
      'refuses a search from a workspace or guild the bot is not installed in, and posts nothing',
      async () => {
        const h = await makeHarness();
        try {
          if (!h.startInForeignTenant || !h.publicPostCount)
            throw new Error(
              'a harness with foreignTenants must implement startInForeignTenant and publicPostCount',
            );
          await h.start('a red circle');
          const before = h.publicPostCount();
          expect(before).toBeGreaterThan(0);
          await h.startInForeignTenant('a blue star');
          await h.frontEnd.idle();
          expect(h.publicPostCount()).toBe(before);
        } finally {
          await h.frontEnd.stop();
          await h.close();
        }
      },
    );

    const withInstalls = (fn: (h: ChatHarness, installs: InstallDriver) => Promise<void>) => async () => {
      const h = await makeHarness();
      try {
        if (!h.installs || !h.publicPostCount)
          throw new Error('a harness with installs must implement installs and publicPostCount');
        await fn(h, h.installs);
      } finally {
        await h.frontEnd.stop();
        await h.close();
      }
    };

    it.skipIf(!capabilities.installs)(
      'refuses an install whose OAuth state it never issued: a clear page, nothing stored',
      withInstalls(async (_h, installs) => {
        const before = await installs.installations();
        const page = await installs.forgedState();
        expect(page.status).toBeGreaterThanOrEqual(400);
        expect(page.status).toBeLessThan(500);
        expect(page.text).toMatch(/not installed/i);
        expect(page.text).toMatch(/install link is not valid/i);
        expect(await installs.installations()).toBe(before);
      }),
    );

    it.skipIf(!capabilities.installs)(
      'refuses a replayed install code: a clear page, the installation unchanged and still working',
      withInstalls(async (h, installs) => {
        const before = await installs.installations();
        const page = await installs.replayInstall();
        expect(page.status).toBeGreaterThanOrEqual(400);
        expect(page.status).toBeLessThan(500);
        expect(page.text).toMatch(/already used or has expired/i);
        expect(await installs.installations()).toBe(before);
        const t = await h.start('a red circle');
        expect(rounds(await h.posts(t))).toHaveLength(1);
      }),
    );

    it.skipIf(!capabilities.installs)(
      'refuses events of a tenant that uninstalled: nothing posted, its installation gone',
      withInstalls(async (h, installs) => {
        const t = await h.start('a red circle');
        const installed = await installs.installations();
        await installs.uninstall();
        await h.frontEnd.idle();
        expect(await installs.installations()).toBe(installed - 1);
        const before = h.publicPostCount?.();
        await h.say(t, 'it is blue');
        await installs.attempt('a blue star');
        await h.frontEnd.idle();
        expect(h.publicPostCount?.()).toBe(before);
        expect(rounds(await h.posts(t))).toHaveLength(1);
      }),
    );
  });
}
