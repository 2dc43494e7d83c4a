/**
 * The pages a person sees at the end of an install (Bolt's /slack/oauth_redirect): what happened
 * in plain words, and what to do when it failed. Nothing is stored on a failure.
 */
import type { ServerResponse } from 'node:http';
import type { HTTPReceiverOptions, Installation } from '@slack/bolt';
import type { Logger } from '../../../core/ports.ts';

/** @slack/oauth's CallbackOptions, as Bolt takes them (Bolt re-exports not the type itself). */
type CallbackOptions = NonNullable<NonNullable<HTTPReceiverOptions['installerOptions']>['callbackOptions']>;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, title: string, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>${escapeHtml(title)}</h1>` +
      `<p>${escapeHtml(text)}</p></body></html>`,
  );
}

/** Why an install failed, for the person installing (the log has the details). */
function failureText(error: { code?: string; data?: { error?: string } }, installPath: string): string {
  const again = `Start again from ${installPath} in this browser.`;
  switch (error.code) {
    case 'slack_oauth_missing_state':
    case 'slack_oauth_invalid_state':
      return `This install link is not valid: it has expired, was already used, or was not started in this browser. Nothing was installed. ${again}`;
    case 'slack_oauth_missing_code':
      return `Slack sent no install code (the install was cancelled?). Nothing was installed. ${again}`;
  }
  const slack = error.data?.error;
  if (slack === 'invalid_code' || slack === 'code_already_used')
    return `Slack did not accept this install code: it was already used or has expired. Nothing was installed. ${again}`;
  if (slack)
    return `Slack refused the install (${slack}). Nothing was installed; the app's administrator should check SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and the redirect URL.`;
  return `The install could not be completed. Nothing was installed. ${again}`;
}

export function oauthPages(installPath: string, logger: Logger): CallbackOptions {
  return {
    success: (installation, _options, _req, res) => {
      const org = installation.enterprise;
      const team = (installation as Installation).team;
      const where = team?.name ?? org?.name ?? 'your workspace';
      page(
        res,
        200,
        'GenIR is installed',
        `GenIR is now installed in ${where}. Invite it to a channel (/invite @genir) and start a search with /genir <description>. ` +
          `Whoever runs the bot gives this workspace its gallery with: genir gallery bind <gallery> --slack-team ${team?.id ?? org?.id ?? 'T…'} (see docs/slack.md).`,
      );
    },
    failure: (error, _options, _req, res) => {
      const code = (error as { data?: { error?: string } }).data?.error ?? error.code;
      logger.warn({ code }, 'slack: an install was refused');
      const status = error.code === 'slack_oauth_unknown_error' ? 500 : 400;
      page(res, status, 'GenIR was not installed', failureText(error, installPath));
    },
  };
}
