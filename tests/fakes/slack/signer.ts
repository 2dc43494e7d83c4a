/**
 * Sends requests to a Bolt HTTP receiver the way Slack does: events (JSON), slash commands and
 * interactivity payloads (form-encoded), each signed with v0 HMAC-SHA256 over
 * "v0:<timestamp>:<raw body>" with the app's signing secret.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FakeSlackIdentity } from './fake-slack.ts';

export function slackSignature(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SendOptions {
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** Overrides the computed signature (to send a bad one). */
  signature?: string;
  retryNum?: number;
  retryReason?: string;
}

export interface SentResponse {
  status: number;
  body: string;
}

const nowSec = () => Math.floor(Date.now() / 1000);

export class SlackRequestSender {
  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly identity: FakeSlackIdentity,
  ) {}

  async send(rawBody: string, contentType: string, o: SendOptions = {}): Promise<SentResponse> {
    const timestamp = o.timestamp ?? nowSec();
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': o.signature ?? slackSignature(this.secret, timestamp, rawBody),
        ...(o.retryNum !== undefined ? { 'x-slack-retry-num': String(o.retryNum) } : {}),
        ...(o.retryReason ? { 'x-slack-retry-reason': o.retryReason } : {}),
      },
      body: rawBody,
    });
    return { status: res.status, body: await res.text() };
  }

  /** An Events API envelope around `event`; pass the same eventId to redeliver the same event. */
  eventBody(
    event: Record<string, unknown>,
    eventId = `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
  ): string {
    return JSON.stringify({
      token: 'legacy-verification-token',
      team_id: this.identity.teamId,
      api_app_id: this.identity.appId,
      event: { event_ts: event.ts, ...event },
      type: 'event_callback',
      event_id: eventId,
      event_time: nowSec(),
      authorizations: [
        {
          enterprise_id: null,
          team_id: this.identity.teamId,
          user_id: this.identity.botUserId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: false,
    });
  }

  event(event: Record<string, unknown>, o: SendOptions & { eventId?: string } = {}): Promise<SentResponse> {
    return this.send(this.eventBody(event, o.eventId), 'application/json', o);
  }

  commandBody(fields: {
    text: string;
    channel: string;
    user: string;
    responseUrl: string;
    command?: string;
  }): string {
    return new URLSearchParams({
      token: 'legacy-verification-token',
      team_id: this.identity.teamId,
      team_domain: 'fake',
      channel_id: fields.channel,
      channel_name: 'general',
      user_id: fields.user,
      user_name: 'person',
      command: fields.command ?? '/genir',
      text: fields.text,
      api_app_id: this.identity.appId,
      is_enterprise_install: 'false',
      response_url: fields.responseUrl,
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    }).toString();
  }

  command(
    fields: Parameters<SlackRequestSender['commandBody']>[0],
    o: SendOptions = {},
  ): Promise<SentResponse> {
    return this.send(this.commandBody(fields), 'application/x-www-form-urlencoded', o);
  }

  /** An interactivity request: `payload=<json>`. */
  interaction(payload: Record<string, unknown>, o: SendOptions = {}): Promise<SentResponse> {
    return this.send(
      new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      'application/x-www-form-urlencoded',
      o,
    );
  }
}

/** Slack's text encoding of what a person typed: &, < and > become entities (mentions stay markup). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
