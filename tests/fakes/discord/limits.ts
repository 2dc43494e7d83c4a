/**
 * Discord's documented limits on what a bot sends, enforced by the fake the way Discord answers:
 * 400 "Invalid Form Body" (code 50035) with the offending field's path in `errors`, or 413 for an
 * upload over the size limit. Sources (docs.discord.com/developers/…): resources/message (create
 * message, uploading files), resources/message#embed-object-embed-limits, components/reference,
 * resources/channel (thread name).
 */
export type Json = Record<string, unknown>;
export type Reply = { status: number; json?: unknown; headers?: Record<string, string> };

export const DISCORD_LIMITS = {
  content: 2000,
  embeds: 10,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  authorName: 256,
  embedsTotal: 6000,
  rows: 5,
  perRow: 5,
  buttonLabel: 80,
  customId: 100,
  selectOptions: 25,
  optionText: 100,
  placeholder: 150,
  attachments: 10,
  /** Bots in servers without boosts: 10 MiB per request (all files together). */
  uploadBytes: 10 * 1024 * 1024,
  threadName: 100,
} as const;

const COMPONENT = { row: 1, button: 2, stringSelect: 3 } as const;

const len = (s: unknown) => (typeof s === 'string' ? Array.from(s).length : 0);

/** Discord's form error: `path` like "components.0.components.1.label" nests as objects. */
export function invalidForm(path: string, code: string, message: string): Reply {
  const errors: Json = {};
  let node = errors;
  for (const key of path.split('.')) {
    const next: Json = {};
    node[key] = next;
    node = next;
  }
  node._errors = [{ code, message }];
  return { status: 400, json: { message: 'Invalid Form Body', code: 50035, errors } };
}

const tooLong = (path: string, max: number) =>
  invalidForm(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);

/** The first limit a message body breaks, as Discord's answer; null when it is within all of them. */
export function checkMessage(
  body: { json: Json; files: { data: Buffer }[] },
  o: { edit?: boolean; uploadBytes?: number } = {},
): Reply | null {
  const j = body.json;
  const L = DISCORD_LIMITS;
  const content = (j.content as string | undefined) ?? '';
  if (len(content) > L.content) return tooLong('content', L.content);
  const embeds = (j.embeds as Json[] | undefined) ?? [];
  const rows = (j.components as Json[] | undefined) ?? [];
  const broken = checkEmbeds(embeds) ?? checkComponents(rows);
  if (broken) return broken;
  const attachments = Math.max(body.files.length, ((j.attachments as Json[] | undefined) ?? []).length);
  if (attachments > L.attachments) return tooLong('attachments', L.attachments);
  const bytes = body.files.reduce((n, f) => n + f.data.length, 0);
  if (bytes > (o.uploadBytes ?? L.uploadBytes)) {
    return { status: 413, json: { message: 'Request entity too large', code: 40005 } };
  }
  if (!o.edit && !content && embeds.length === 0 && body.files.length === 0 && rows.length === 0) {
    return { status: 400, json: { message: 'Cannot send an empty message', code: 50006 } };
  }
  return null;
}

function checkEmbeds(embeds: Json[]): Reply | null {
  const L = DISCORD_LIMITS;
  if (embeds.length > L.embeds) return tooLong('embeds', L.embeds);
  let total = 0;
  for (const [n, e] of embeds.entries()) {
    const at = `embeds.${n}`;
    const fields = (e.fields as Json[] | undefined) ?? [];
    const footer = (e.footer as Json | undefined)?.text;
    const author = (e.author as Json | undefined)?.name;
    if (len(e.title) > L.embedTitle) return tooLong(`${at}.title`, L.embedTitle);
    if (len(e.description) > L.embedDescription) return tooLong(`${at}.description`, L.embedDescription);
    if (fields.length > L.embedFields) return tooLong(`${at}.fields`, L.embedFields);
    for (const [m, f] of fields.entries()) {
      if (len(f.name) > L.fieldName) return tooLong(`${at}.fields.${m}.name`, L.fieldName);
      if (len(f.value) > L.fieldValue) return tooLong(`${at}.fields.${m}.value`, L.fieldValue);
    }
    if (len(footer) > L.footer) return tooLong(`${at}.footer.text`, L.footer);
    if (len(author) > L.authorName) return tooLong(`${at}.author.name`, L.authorName);
    total +=
      len(e.title) +
      len(e.description) +
      len(footer) +
      len(author) +
      fields.reduce((s, f) => s + len(f.name) + len(f.value), 0);
  }
  if (total > L.embedsTotal) {
    return invalidForm(
      'embeds',
      'MAX_EMBED_SIZE_EXCEEDED',
      `Embed size exceeds maximum size of ${L.embedsTotal}`,
    );
  }
  return null;
}

function checkComponents(rows: Json[]): Reply | null {
  const L = DISCORD_LIMITS;
  if (rows.length > L.rows) return tooLong('components', L.rows);
  const ids = new Set<string>();
  for (const [r, row] of rows.entries()) {
    const at = `components.${r}`;
    const children = (row.components as Json[] | undefined) ?? [];
    if (row.type !== COMPONENT.row)
      return invalidForm(`${at}.type`, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
    if (children.length > L.perRow) return tooLong(`${at}.components`, L.perRow);
    // A row holds up to five buttons or one select menu.
    if (children.length > 1 && children.some((c) => c.type !== COMPONENT.button)) {
      return invalidForm(
        `${at}.components`,
        'COMPONENT_LAYOUT_WIDTH_EXCEEDED',
        'The specified component exceeds the maximum width',
      );
    }
    for (const [n, c] of children.entries()) {
      const cat = `${at}.components.${n}`;
      const id = c.custom_id;
      if (typeof id === 'string') {
        if (len(id) > L.customId) return tooLong(`${cat}.custom_id`, L.customId);
        if (ids.has(id)) {
          return invalidForm(
            `${cat}.custom_id`,
            'COMPONENT_CUSTOM_ID_DUPLICATED',
            'Component custom id cannot be duplicated',
          );
        }
        ids.add(id);
      }
      if (c.type === COMPONENT.button && len(c.label) > L.buttonLabel) {
        return tooLong(`${cat}.label`, L.buttonLabel);
      }
      if (c.type === COMPONENT.stringSelect) {
        const options = (c.options as Json[] | undefined) ?? [];
        if (len(c.placeholder) > L.placeholder) return tooLong(`${cat}.placeholder`, L.placeholder);
        if (options.length > L.selectOptions) return tooLong(`${cat}.options`, L.selectOptions);
        for (const [m, o] of options.entries()) {
          for (const key of ['label', 'value', 'description'] as const) {
            if (len(o[key]) > L.optionText) return tooLong(`${cat}.options.${m}.${key}`, L.optionText);
          }
        }
      }
    }
  }
  return null;
}
