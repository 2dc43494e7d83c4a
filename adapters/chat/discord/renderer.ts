import {
  ActionRowBuilder,
  AttachmentBuilder,
  type BaseMessageOptions,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  escapeMarkdown,
  type MessageActionRowComponentBuilder,
  StringSelectMenuBuilder,
  StringSelectMenuOptionBuilder,
} from 'discord.js';
import { commandSpec, decodeActionId, encodeActionId } from '../../../commands/index.ts';
import type { FoundView, Reply, RoundView } from '../../../core/types.ts';
import { topMatches, truncate } from '../shared/text.ts';
import { GROUP_COMMAND } from './commands.ts';

/** Discord's documented limits; text longer than these is cut, never rejected. */
export const LIMITS = {
  content: 2000,
  embedTitle: 256,
  embedDescription: 4096,
  fieldName: 256,
  fieldValue: 1024,
  embedFooter: 2048,
  /** Sum of all text in all embeds of one message. */
  embedsTotal: 6000,
  selectOptions: 25,
  selectOptionLabel: 100,
  selectOptionDescription: 100,
  selectPlaceholder: 150,
  buttonLabel: 80,
  threadName: 100,
  customId: 100,
} as const;

/** Largest original the bot uploads; bigger files are linked or named instead (bot upload cap is 10 MB). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Nothing the bot sends may ping anyone: not @everyone/@here, roles, users, or the replied-to author. */
export const NO_MENTIONS = {
  parse: [],
  repliedUser: false,
} as const satisfies BaseMessageOptions['allowedMentions'];

export type DiscordPayload = BaseMessageOptions & { allowedMentions: typeof NO_MENTIONS };

const COLOR = { round: 0x5865f2, found: 0x57f287 } as const;

export const ROUND_TITLE = /^Round (\d+)\b/;
export const FOUND_PREFIX = '✅ Found it';

/** File names of a round's attachments (referenced from the embeds as attachment://name). */
export function roundFileNames(view: RoundView): { synthetic: string; sheet: string } {
  const stem = `round-${String(view.roundNumber).padStart(2, '0')}`;
  return { synthetic: `${stem}-synthetic.png`, sheet: `${stem}-matches.png` };
}

export function renderReply(reply: Reply): DiscordPayload {
  switch (reply.kind) {
    case 'round':
      return renderRound(reply.view);
    case 'found':
      return renderFound(reply.view);
    case 'notice':
      return renderNotice(reply.text, reply.level);
  }
}

/**
 * People's text (descriptions, refined queries, file and asset names, quoted in notices) shown as
 * the literal characters they typed: no masked links, headings, subtext, quotes, lists, spoilers,
 * code or emphasis posted under the bot's name. Mentions are already inert (NO_MENTIONS).
 */
export function escapeText(text: string): string {
  return escapeMarkdown(text, {
    heading: true,
    bulletedList: true,
    numberedList: true,
    maskedLink: true,
  }).replace(/^(\s*)(-#|>>>|>)(?=\s)/gm, '$1\\$2');
}

/** `truncate` for escaped text: never leaves a lone backslash escaping the ellipsis. */
function cut(text: string, max: number): string {
  return truncate(text, max).replace(/(^|[^\\])((?:\\\\)*)\\…$/, '$1$2…');
}

export function renderNotice(text: string, level: 'info' | 'warn' | 'error' = 'info'): DiscordPayload {
  const body = formatCommandTable(text);
  return {
    content: cut(level === 'error' ? `⚠️ ${body}` : body, LIMITS.content),
    allowedMentions: NO_MENTIONS,
  };
}

/** Plain content (headers, progress lines), cut to the content limit, pinging nobody. */
export function renderText(text: string): DiscordPayload {
  return { content: truncate(text, LIMITS.content), allowedMentions: NO_MENTIONS };
}

/**
 * The engine's notices are plain text that may quote people (file names, commands, errors): every
 * line is escaped, and the help's aligned "  /usage    text" lines become "`/usage` text", which
 * reads better in Discord's proportional font.
 */
function formatCommandTable(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const row = /^ {2}(\/[^`\s].*?)\s{2,}(\S.*)$/.exec(line);
      return row ? `\`${(row[1] as string).trim()}\` ${escapeText(row[2] as string)}` : escapeText(line);
    })
    .join('\n');
}

/** Hands out a shared character budget so the sum over a message's embeds stays under Discord's cap. */
class Budget {
  constructor(private left: number) {}
  take(text: string, max: number): string {
    const taken = cut(text, Math.max(1, Math.min(max, this.left)));
    this.left -= Array.from(taken).length;
    return taken;
  }
}

export function renderRound(view: RoundView): DiscordPayload {
  const names = roundFileNames(view);
  const budget = new Budget(LIMITS.embedsTotal);
  const files: AttachmentBuilder[] = [];

  const title = budget.take(`Round ${view.roundNumber}`, LIMITS.embedTitle);
  // The footer is the post's last text, right above the buttons: the research notice (round 1) and
  // how to go on. Taken before the long texts, so the notice is never what the budget cuts away.
  const hint = 'Correct me in words in this thread, or use the menus and buttons.';
  const footer = budget.take(
    view.consentNotice ? `${discordCommands(view.consentNotice)}\n${hint}` : hint,
    800,
  );
  const main = new EmbedBuilder()
    .setColor(COLOR.round)
    .setTitle(title)
    // The query gets the lion's share of the budget; the match list and notes get the rest.
    .setDescription(budget.take(view.query ? escapeText(view.query) : '(no description)', 2600));
  const fields: { name: string; value: string }[] = [];
  if (view.syntheticPng) {
    files.push(
      new AttachmentBuilder(view.syntheticPng, { name: names.synthetic, description: 'What I drew' }),
    );
    main.setImage(`attachment://${names.synthetic}`);
    if (view.interpretation) {
      fields.push({
        name: budget.take('I drew', LIMITS.fieldName),
        value: budget.take(escapeText(view.interpretation), LIMITS.fieldValue),
      });
    }
  } else {
    fields.push({
      name: budget.take('Picture', LIMITS.fieldName),
      value: budget.take(view.noPicture ?? 'Same drawing as the previous round.', LIMITS.fieldValue),
    });
  }
  if (view.notes.length > 0) {
    fields.push({
      name: budget.take('Notes', LIMITS.fieldName),
      value: budget.take(view.notes.map(escapeText).join('\n'), LIMITS.fieldValue),
    });
  }
  if (fields.length > 0) main.addFields(fields);

  files.push(new AttachmentBuilder(view.contactSheetPng, { name: names.sheet, description: 'Top matches' }));
  const sheet = new EmbedBuilder()
    .setColor(COLOR.round)
    .setTitle(
      budget.take(view.tiles.length ? topMatches(view.tiles.length) : 'No matches', LIMITS.embedTitle),
    )
    .setImage(`attachment://${names.sheet}`);
  const list = view.tiles
    .map((t) => `**${t.n}.** ${cut(escapeText(t.title), 60)} · ${t.score.toFixed(3)}`)
    .join('\n');
  if (list) sheet.setDescription(budget.take(list, 1200));
  sheet.setFooter({ text: footer });

  return {
    embeds: [main, sheet],
    files,
    components: roundComponents(view),
    allowedMentions: NO_MENTIONS,
  };
}

/** The engine's texts name commands as typed in a terminal ("/forget"); on Discord they are `/genir <command>`. */
function discordCommands(text: string): string {
  return text.replace(/(^|\s)\/(forget|keep|status|export|help)\b/g, `$1/${GROUP_COMMAND} $2`);
}

/** The select's own id: the round's action id without a match number (the chosen option carries it). */
function selectId(ids: readonly string[], action: 'pick' | 'more'): string {
  const ref = ids[0] ? decodeActionId(ids[0]) : null;
  return encodeActionId(action, ref?.roundId ?? '-');
}

function matchSelect(view: RoundView, action: 'pick' | 'more', ids: readonly string[]) {
  const label = commandSpec(action).label;
  const tiles = view.tiles.slice(0, LIMITS.selectOptions);
  const last = tiles.at(-1)?.n ?? 1;
  return new StringSelectMenuBuilder()
    .setCustomId(selectId(ids, action))
    .setPlaceholder(
      truncate(`${label}${label.endsWith('…') ? ' ' : ': '}#1…#${last}`, LIMITS.selectPlaceholder),
    )
    .setMinValues(1)
    .setMaxValues(1)
    .addOptions(
      tiles.map((t) =>
        new StringSelectMenuOptionBuilder()
          .setLabel(truncate(`#${t.n} ${t.title}`, LIMITS.selectOptionLabel))
          .setDescription(truncate(`similarity ${t.score.toFixed(3)}`, LIMITS.selectOptionDescription))
          .setValue(ids[t.n - 1] as string),
      ),
    );
}

export function roundComponents(view: RoundView): ActionRowBuilder<MessageActionRowComponentBuilder>[] {
  const rows: ActionRowBuilder<MessageActionRowComponentBuilder>[] = [];
  const usable = view.tiles.filter((t) => view.actions.pick[t.n - 1] && view.actions.moreLike[t.n - 1]);
  if (usable.length > 0) {
    const v = { ...view, tiles: usable };
    rows.push(
      new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(
        matchSelect(v, 'pick', view.actions.pick),
      ),
    );
    rows.push(
      new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(
        matchSelect(v, 'more', view.actions.moreLike),
      ),
    );
  }
  const button = (id: string, action: 'not' | 'regen' | 'undo' | 'reset' | 'keep', style: ButtonStyle) =>
    new ButtonBuilder()
      .setCustomId(id)
      .setLabel(truncate(commandSpec(action).label, LIMITS.buttonLabel))
      .setStyle(style);
  // Two select rows and one button row: well within 5 rows × 5 buttons, with Keep as the fifth button.
  const buttons = [
    button(view.actions.notThese, 'not', ButtonStyle.Danger),
    button(view.actions.regenerate, 'regen', ButtonStyle.Secondary),
    button(view.actions.undo, 'undo', ButtonStyle.Secondary),
    button(view.actions.newSearch, 'reset', ButtonStyle.Primary),
  ];
  if (view.actions.keep) buttons.push(button(view.actions.keep, 'keep', ButtonStyle.Success));
  rows.push(new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(...buttons));
  return rows;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

export function renderFound(view: FoundView): DiscordPayload {
  const title = truncate(view.asset.title.replace(/\s+/g, ' ').trim() || view.asset.id, 300);
  const lines = [`${FOUND_PREFIX} in round ${view.roundNumber}: **${escapeText(title)}**`];
  const files: AttachmentBuilder[] = [];
  if (view.file && view.file.length <= MAX_UPLOAD_BYTES) {
    files.push(new AttachmentBuilder(view.file, { name: view.fileName, description: truncate(title, 1024) }));
  } else if (isUrl(view.asset.source)) {
    lines.push(`Original: <${view.asset.source}>`);
  } else if (view.file) {
    lines.push(
      `The original is too large to upload here (${(view.file.length / 1024 / 1024).toFixed(1)} MB): ${escapeText(view.fileName)}`,
    );
  } else {
    lines.push(`(I could not read the original file ${escapeText(view.fileName)}.)`);
  }
  lines.push('-# Send a correction to keep searching, or use New search.');
  return {
    content: truncate(lines.join('\n'), LIMITS.content),
    ...(files.length ? { files } : {}),
    allowedMentions: NO_MENTIONS,
  };
}
