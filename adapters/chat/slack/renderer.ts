import { setTimeout as sleep } from 'node:timers/promises';
import type { types, webApi } from '@slack/bolt';
import Bottleneck from 'bottleneck';
import { COMMANDS, commandSpec } from '../../../commands/index.ts';
import { BoundedMap } from '../../../core/bounded.ts';
import type { Logger } from '../../../core/ports.ts';
import type { FoundView, Reply, RoundView } from '../../../core/types.ts';
import { RateBudget, retryAfterOf, retryingAfter429, TIER3_PER_MINUTE } from './rate-budget.ts';

type KnownBlock = types.KnownBlock;

/** Block Kit and message limits (docs.slack.dev, Block Kit reference; chat.postMessage). */
export const LIMITS = {
  sectionText: 3000,
  buttonText: 75,
  optionText: 75,
  placeholder: 150,
  /** Slack truncates message text beyond this. */
  messageText: 40_000,
  /** Fallback text of block messages (shown in notifications): kept short. */
  fallbackText: 3000,
  altText: 1000,
} as const;

/** Escapes the three characters Slack treats as markup, so echoed text can never format, link or mention. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inbound Slack text arrives with &, < and > entity-escaped; this gives back what the person typed. */
export function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Cuts text to at most `max` UTF-16 units (the strictest way Slack may count), never inside a
 * surrogate pair or an HTML entity, ending with an ellipsis when cut.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out.replace(/&[a-z]{0,4}$/, '')}…`;
}

/** Escaped and cut to a limit: for every piece of text that is not ours. */
export function mrkdwn(text: string, max: number): string {
  return clip(escapeMrkdwn(text), max);
}

const plain = (text: string, max: number): types.PlainTextElement => ({
  type: 'plain_text',
  text: clip(text, max),
  emoji: true,
});

/**
 * Notice text as mrkdwn: escaped, with indented lines (the help's command table) set in a code
 * block so their columns line up.
 */
export function noticeMrkdwn(text: string, level: 'info' | 'warn' | 'error' = 'info'): string {
  const out: string[] = [];
  let code: string[] = [];
  const flush = () => {
    if (code.length) out.push(`\`\`\`${code.join('\n')}\`\`\``);
    code = [];
  };
  for (const line of escapeMrkdwn(text).split('\n')) {
    if (/^ {2}\S/.test(line)) code.push(line.slice(2));
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  const prefix = level === 'error' ? ':x: ' : level === 'warn' ? ':warning: ' : '';
  return clip(`${prefix}${out.join('\n')}`, LIMITS.messageText);
}

/**
 * Help for Slack. Typed "/pick 3" in a Slack message is taken for a Slack slash command, so the
 * round actions are offered as controls, and the rest as `/genir <command>`.
 */
export function slackHelp(command = '/genir'): string {
  const controls = ['pick', 'more', 'not', 'regen', 'undo', 'reset', 'keep'] as const;
  const line = (action: Parameters<typeof commandSpec>[0], usage: string) => {
    const spec = COMMANDS.find((c) => c.action === action);
    return spec ? `• ${usage}: ${spec.help}` : null;
  };
  return [
    'Describe an image you remember; I draw what I understood and show the closest images from the gallery.',
    `Start with \`${command} <description>\`, or mention me with a description in a channel (or just write to me in a DM).`,
    'Then reply in the thread to correct me in plain words ("the circle is red, not blue"), or use the controls under each round:',
    ...controls.map((a) => line(a, `*${commandSpec(a)?.label ?? a}*`)),
    line('forget', `\`${command} forget\``),
    line('status', `\`${command} status\` (admins)`),
    line('export', `\`${command} export\` (admins)`),
  ]
    .filter((l): l is string => l !== null)
    .join('\n');
}

export const ROUND_EVENT = 'genir_round';
export const FOUND_EVENT = 'genir_found';
export const PICK_SELECT = 'genir-select-pick';
export const MORE_SELECT = 'genir-select-more';
const CONTROLS_BLOCK = 'genir-controls';
const CONSENT_BLOCK = 'genir-research';

/**
 * The engine's texts name commands as typed in a terminal ("/forget"). In Slack those are
 * `/genir forget` (typed in the channel: Slack does not run an app's slash commands in threads).
 */
export function slackCommands(mrkdwnText: string, command = '/genir'): string {
  return mrkdwnText.replace(/(^|\s)\/(forget|keep|status|export|help)\b/g, `$1\`${command} $2\``);
}

/**
 * The Block Kit message of a round: number, refined query, what was drawn, notes, the research
 * notice (round 1, as small print right above the Keep button it refers to) and the controls.
 */
export function roundBlocks(view: RoundView, command = '/genir'): KnownBlock[] {
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      block_id: 'genir-query',
      text: {
        type: 'mrkdwn',
        text: `*Round ${view.roundNumber}* · ${mrkdwn(view.query, LIMITS.sectionText - 40)}`,
      },
    },
  ];
  if (view.interpretation) {
    blocks.push({
      type: 'section',
      block_id: 'genir-drawn',
      text: { type: 'mrkdwn', text: `_I drew:_ ${mrkdwn(view.interpretation, LIMITS.sectionText - 20)}` },
    });
  } else if (!view.syntheticPng) {
    blocks.push({
      type: 'section',
      block_id: 'genir-drawn',
      text: {
        type: 'mrkdwn',
        text: `_${escapeMrkdwn(view.noPicture ?? 'No new drawing this round: the same picture, searched with your feedback.')}_`,
      },
    });
  }
  if (view.notes.length > 0) {
    blocks.push({
      type: 'section',
      block_id: 'genir-notes',
      text: { type: 'mrkdwn', text: mrkdwn(view.notes.map((n) => `• ${n}`).join('\n'), LIMITS.sectionText) },
    });
  }
  if (view.consentNotice) {
    blocks.push({
      type: 'context',
      block_id: CONSENT_BLOCK,
      elements: [
        {
          type: 'mrkdwn',
          text: clip(
            `:microscope: ${slackCommands(escapeMrkdwn(view.consentNotice), command)}`,
            LIMITS.sectionText,
          ),
        },
      ],
    });
  }
  const elements: types.ActionsBlockElement[] = [];
  if (view.tiles.length > 0) {
    const options = (ids: string[]) =>
      view.tiles.slice(0, 100).map((t, i) => ({
        text: plain(`#${t.n} ${t.title}`, LIMITS.optionText),
        value: ids[i] as string,
      }));
    elements.push(
      {
        type: 'static_select',
        action_id: PICK_SELECT,
        placeholder: plain(`${commandSpec('pick').label}: #1…#${view.tiles.length}`, LIMITS.placeholder),
        options: options(view.actions.pick),
      },
      {
        type: 'static_select',
        action_id: MORE_SELECT,
        placeholder: plain(commandSpec('more').label, LIMITS.placeholder),
        options: options(view.actions.moreLike),
      },
    );
  }
  const button = (
    id: string,
    action: Parameters<typeof commandSpec>[0],
    style?: 'primary' | 'danger',
  ): types.Button => ({
    type: 'button',
    action_id: id,
    value: id,
    text: plain(commandSpec(action).label, LIMITS.buttonText),
    ...(style ? { style } : {}),
  });
  elements.push(
    button(view.actions.notThese, 'not'),
    button(view.actions.regenerate, 'regen'),
    button(view.actions.undo, 'undo'),
    button(view.actions.newSearch, 'reset'),
  );
  if (view.actions.keep) elements.push(button(view.actions.keep, 'keep', 'primary'));
  blocks.push({ type: 'actions', block_id: CONTROLS_BLOCK, elements });
  return blocks;
}

/** A round message whose controls belong to a newer round: the same text, the controls replaced by a line. */
export function retiredRoundBlocks(blocks: KnownBlock[], current: number): KnownBlock[] {
  return [
    ...blocks.filter((b) => b.block_id !== CONTROLS_BLOCK),
    {
      type: 'context',
      block_id: 'genir-retired',
      elements: [
        {
          type: 'mrkdwn',
          text: `_Round ${current} below is the current one; its controls are the live ones._`,
        },
      ],
    },
  ];
}

export function foundBlocks(view: FoundView, uploaded: boolean): KnownBlock[] {
  const lines = [
    `:white_check_mark: *Found it* in round ${view.roundNumber}: ${mrkdwn(view.asset.title, 1000)}`,
  ];
  if (view.asset.caption) lines.push(`_${mrkdwn(view.asset.caption, 1000)}_`);
  if (/^https?:\/\/[^\s<>|]+$/.test(view.asset.source))
    lines.push(`<${view.asset.source}|Open the original>`);
  if (!uploaded) lines.push('_I could not read the original file, so I cannot attach it._');
  return [
    {
      type: 'section',
      block_id: 'genir-found',
      text: { type: 'mrkdwn', text: clip(lines.join('\n'), LIMITS.sectionText) },
    },
  ];
}

/**
 * A conversation and the Web API client of its workspace (the bot token of the team the event
 * came from; absent: the renderer's own client, single-workspace mode).
 */
export interface SlackConversation {
  channel: string;
  client?: webApi.WebClient;
}

/** Where a reply goes: a channel, the thread in it (none for a top-level DM conversation), the person acting. */
export interface SlackDestination extends SlackConversation {
  threadTs?: string;
  userId: string;
  /**
   * Set for a slash command outside any thread: every notice goes only to the person, through the
   * command's response_url (which works where the bot is not a member).
   */
  respond?: (text: string) => Promise<void>;
}

export interface SlackRendererOptions {
  /** The client of conversations that name none (single-workspace mode). */
  client: webApi.WebClient;
  /** Minimum ms between posts in one channel (Slack allows about one message per second per channel). */
  postIntervalMs?: number;
  logger?: Logger;
  /** The app's slash command (as in the manifest), for texts that name commands. */
  command?: string;
  /** Calls per minute of chat.update and of chat.delete (Tier 3, per workspace); default 45. */
  tier3PerMinute?: number;
  /** How long to wait for Slack to finish processing uploaded pictures before posting anyway (ms). */
  shareWaitMs?: number;
}

/** Progress edits leave this share of the chat.update budget to retiring old round controls. */
const PROGRESS_RESERVE = 0.2;

/** A picture for one upload: bytes, name, title and the screen-reader description. */
interface UploadFile {
  file: Buffer;
  filename: string;
  title: string;
  alt: string;
}

/** A file object as files.info / files.completeUploadExternal describe it, as far as read here. */
interface SharedFile {
  id?: string;
  shares?: { public?: Record<string, unknown[]>; private?: Record<string, unknown[]> };
}

const sharedIn = (f: SharedFile | undefined, channel: string): boolean =>
  Boolean(f?.shares?.public?.[channel]?.length || f?.shares?.private?.[channel]?.length);

const thread = (dest: { threadTs?: string }) => (dest.threadTs ? { thread_ts: dest.threadTs } : {});

/**
 * Posts replies into Slack. Every message and upload in a channel goes through that channel's
 * limiter (one at a time, spaced by postIntervalMs), so a thread's posts keep their order. A 429
 * holds up only the call it answered: a round's posts wait its Retry-After in their channel's
 * queue and go again; progress edits are dropped. chat.update and chat.delete share a per-minute
 * budget (Tier 3) in which progress edits come last.
 */
export class SlackRenderer {
  private readonly client: webApi.WebClient;
  private readonly limiters: Bottleneck.Group;
  private readonly logger: Logger | undefined;
  private readonly command: string;
  /** Latest round message per thread, so its controls can be retired when a newer round is posted. */
  private readonly lastRound = new BoundedMap<string, { ts: string; blocks: KnownBlock[] }>(5000);
  private readonly updates: RateBudget;
  private readonly deletes: RateBudget;
  private readonly shareWaitMs: number;

  constructor(options: SlackRendererOptions) {
    this.client = options.client;
    this.updates = new RateBudget(options.tier3PerMinute ?? TIER3_PER_MINUTE);
    this.deletes = new RateBudget(options.tier3PerMinute ?? TIER3_PER_MINUTE);
    this.shareWaitMs = options.shareWaitMs ?? 20_000;
    this.logger = options.logger;
    this.command = options.command ?? '/genir';
    this.limiters = new Bottleneck.Group({ maxConcurrent: 1, minTime: options.postIntervalMs ?? 1000 });
  }

  /** The client with the bot token of the conversation's workspace. */
  private api(c: SlackConversation): webApi.WebClient {
    return c.client ?? this.client;
  }

  /** Runs a post in the channel's queue; after a 429 it waits there and goes again. */
  private queued<T>(channel: string, fn: () => Promise<T>): Promise<T> {
    return this.limiters.key(channel).schedule(() => retryingAfter429(fn));
  }

  async render(reply: Reply, dest: SlackDestination): Promise<void> {
    switch (reply.kind) {
      case 'notice':
        if (reply.ephemeral || dest.respond)
          await this.postEphemeral(dest, noticeMrkdwn(reply.text, reply.level));
        else await this.postText(dest, noticeMrkdwn(reply.text, reply.level));
        return;
      case 'round':
        return this.round(reply.view, dest);
      case 'found':
        return this.found(reply.view, dest);
    }
  }

  /** Posts ready mrkdwn text (the caller escaped what needs escaping); returns the message ts. */
  async postText(dest: SlackConversation & { threadTs?: string }, text: string): Promise<string> {
    const res = await this.queued(dest.channel, () =>
      this.api(dest).chat.postMessage({
        channel: dest.channel,
        ...thread(dest),
        text: clip(text, LIMITS.messageText),
      }),
    );
    return res.ts as string;
  }

  async postEphemeral(dest: SlackDestination, text: string): Promise<void> {
    if (dest.respond) return dest.respond(clip(text, LIMITS.messageText));
    await this.queued(dest.channel, () =>
      this.api(dest).chat.postEphemeral({
        channel: dest.channel,
        user: dest.userId,
        ...thread(dest),
        text: clip(text, LIMITS.messageText),
      }),
    );
  }

  /**
   * Edits a progress line; not queued: edits are not new messages. Dropped (false) when the
   * chat.update budget is spent or Slack answers 429: a later edit or the round says more.
   */
  async updateProgress(conversation: SlackConversation, ts: string, text: string): Promise<boolean> {
    const { channel } = conversation;
    if (!this.updates.tryTake(Math.floor(this.updates.perWindow * PROGRESS_RESERVE))) return false;
    try {
      await this.api(conversation).chat.update({ channel, ts, text: clip(text, LIMITS.messageText) });
      return true;
    } catch (err) {
      const wait = retryAfterOf(err);
      if (wait === undefined) throw err;
      this.updates.block(wait);
      this.logger?.warn({ channel, retryAfter: wait }, 'chat.update rate limited: progress edit dropped');
      return false;
    }
  }

  /** Deletes a message of ours; waits for the chat.delete budget, and after a 429 for Retry-After. */
  async deleteMessage(conversation: SlackConversation, ts: string): Promise<void> {
    const { channel } = conversation;
    await retryingAfter429(() => this.api(conversation).chat.delete({ channel, ts }), this.deletes);
  }

  /**
   * Uploads pictures into the conversation (files.getUploadURLExternal with `alt_txt`, the bytes,
   * files.completeUploadExternal), then waits until Slack has processed them into a message there:
   * whatever is posted next comes after the pictures.
   */
  private async upload(dest: SlackDestination, files: UploadFile[]): Promise<void> {
    if (files.length === 0) return;
    const done = await this.queued(dest.channel, async () => {
      const ids: { id: string; title: string }[] = [];
      for (const f of files) ids.push({ id: await this.uploadBytes(dest, f), title: f.title });
      const complete = await this.api(dest).files.completeUploadExternal({
        files: ids as [{ id: string; title: string }],
        channel_id: dest.channel,
        ...thread(dest),
      });
      return (complete.files ?? []) as SharedFile[];
    });
    await this.untilShared(dest, done);
  }

  /** Asks for an upload URL and sends the bytes there; returns the file id. */
  private async uploadBytes(dest: SlackConversation, f: UploadFile): Promise<string> {
    // The Web API documents `alt_txt`; the SDK's uploadV2 sends `alt_text`, which Slack ignores.
    const res = (await retryingAfter429(() =>
      this.api(dest).apiCall('files.getUploadURLExternal', {
        filename: f.filename,
        length: f.file.length,
        alt_txt: clip(f.alt, LIMITS.altText),
      }),
    )) as { upload_url?: string; file_id?: string };
    if (!res.upload_url || !res.file_id) throw new Error('files.getUploadURLExternal gave no upload URL');
    const sent = await fetch(res.upload_url, {
      method: 'POST',
      body: f.file,
      signal: AbortSignal.timeout(60_000),
    });
    await sent.body?.cancel();
    if (!sent.ok) throw new Error(`uploading ${f.filename} failed (HTTP ${sent.status})`);
    return res.file_id;
  }

  /**
   * Slack processes uploads asynchronously: completeUploadExternal answers before the files are
   * shared (their `shares` are still empty). Polls files.info (Tier 4) until each file is shared
   * in the channel, giving up after shareWaitMs (then the next post goes out anyway, logged).
   */
  private async untilShared(conversation: SlackConversation, files: SharedFile[]): Promise<void> {
    const { channel } = conversation;
    const deadline = Date.now() + this.shareWaitMs;
    let pause = 50;
    for (const f of files) {
      const id = f.id;
      let current: SharedFile | undefined = f;
      while (id && !sharedIn(current, channel)) {
        if (Date.now() >= deadline) {
          this.logger?.warn({ channel, file: id }, 'uploaded picture not shared yet; posting on');
          return;
        }
        await sleep(pause);
        pause = Math.min(pause * 2, 2000);
        current = (await retryingAfter429(() => this.api(conversation).files.info({ file: id })))
          .file as SharedFile;
      }
    }
  }

  private async round(view: RoundView, dest: SlackDestination): Promise<void> {
    const stem = `round-${String(view.roundNumber).padStart(2, '0')}`;
    const files: UploadFile[] = [];
    if (view.syntheticPng) {
      files.push({
        file: view.syntheticPng,
        filename: `${stem}-drawing.png`,
        title: `Round ${view.roundNumber}: what I drew`,
        alt: `What I drew for: ${view.query}`,
      });
    }
    files.push({
      file: view.contactSheetPng,
      filename: `${stem}-matches.png`,
      title: `Round ${view.roundNumber}: the ${view.tiles.length} closest images`,
      alt: `Numbered matches: ${view.tiles.map((t) => `${t.n}. ${t.title}`).join('; ')}`,
    });
    await this.upload(dest, files);
    const blocks = roundBlocks(view, this.command);
    const res = await this.queued(dest.channel, () =>
      this.api(dest).chat.postMessage({
        channel: dest.channel,
        ...thread(dest),
        text: mrkdwn(`Round ${view.roundNumber}: ${view.query}`, LIMITS.fallbackText),
        blocks,
        metadata: {
          event_type: ROUND_EVENT,
          event_payload: { round: view.roundNumber, round_id: view.roundId },
        },
      }),
    );
    await this.retirePrevious(dest, { ts: res.ts as string, blocks }, view.roundNumber);
  }

  /** Replaces the controls of the thread's previous round message with a pointer to the new round. */
  private async retirePrevious(
    dest: SlackDestination,
    latest: { ts: string; blocks: KnownBlock[] },
    current: number,
  ) {
    const key = `${dest.channel}|${dest.threadTs ?? ''}`;
    const previous = this.lastRound.get(key);
    this.lastRound.set(key, latest);
    if (!previous) return;
    if (!this.updates.tryTake()) {
      this.logger?.warn(
        { channel: dest.channel },
        'chat.update budget spent: old round controls left as they are',
      );
      return;
    }
    try {
      await this.api(dest).chat.update({
        channel: dest.channel,
        ts: previous.ts,
        text: 'An earlier round',
        blocks: retiredRoundBlocks(previous.blocks, current),
      });
    } catch (err) {
      const wait = retryAfterOf(err);
      if (wait !== undefined) this.updates.block(wait);
      // Cosmetic only: old controls still answer with a "no longer current" notice.
      this.logger?.warn(
        { channel: dest.channel, err: (err as Error).message },
        'could not retire old round controls',
      );
    }
  }

  private async found(view: FoundView, dest: SlackDestination): Promise<void> {
    if (view.file) {
      await this.upload(dest, [
        {
          file: view.file,
          filename: view.fileName,
          title: view.asset.title,
          alt: view.asset.caption ?? view.asset.title,
        },
      ]);
    }
    await this.queued(dest.channel, () =>
      this.api(dest).chat.postMessage({
        channel: dest.channel,
        ...thread(dest),
        text: mrkdwn(`Found it in round ${view.roundNumber}: ${view.asset.title}`, LIMITS.fallbackText),
        blocks: foundBlocks(view, view.file !== null),
        metadata: {
          event_type: FOUND_EVENT,
          event_payload: { round: view.roundNumber, asset_id: view.asset.id },
        },
      }),
    );
  }

  /** Waits for queued posts to go out, then drops the limiters. */
  async close(): Promise<void> {
    await Promise.all(
      this.limiters.limiters().map(({ limiter }) => limiter.stop({ dropWaitingJobs: false })),
    );
  }
}
