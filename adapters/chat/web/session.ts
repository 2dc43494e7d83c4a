/**
 * Who a browser is. The server never takes an identity from a request body: it comes from a
 * signed, HttpOnly, SameSite session cookie (WEB_AUTH=none: one per browser, handed out on first
 * visit; WEB_AUTH=token: handed out once the shared token was entered) or from a header set by a
 * trusted reverse proxy (WEB_AUTH=header). A cookie signed with another secret is refused.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';

export type WebAuthMode = 'none' | 'token' | 'header';

export interface WebAuth {
  mode: WebAuthMode;
  /** Signs the session cookie (at least 32 characters). */
  secret: string;
  /** token mode: the shared secret people enter once. */
  token?: string;
  /** token mode: entering this one instead makes the browser an admin. */
  adminToken?: string;
  /** header mode: the header the proxy sets to the person's id (e.g. X-Forwarded-User). */
  header?: string;
}

export interface WebIdentity {
  /** The browser's (or the proxy-named person's) id: the owner part of its thread keys. */
  owner: string;
  /** The id the engine sees: "web:<owner>" (ADMIN_USER_IDS may list it). */
  userId: string;
}

export const SESSION_COOKIE = 'genir_session';
/** The owner of the admin token's sessions (token mode): one admin identity, whatever the browser. */
export const ADMIN_OWNER = 'admin';

const SESSION_DAYS = 400;
const PROXY_ID = /^[^\p{Cc}]{1,200}$/u;

export type Identify =
  | { ok: true; identity: WebIdentity }
  | { ok: false; status: 401; error: string; auth: WebAuthMode };

export class WebSessions {
  constructor(
    private readonly auth: WebAuth,
    /** Cookies over HTTPS only (the page is served behind TLS). */
    private readonly secure = false,
  ) {
    if (auth.secret.length < 32) throw new Error('the web session secret must have at least 32 characters');
    if (auth.mode === 'token' && !auth.token) throw new Error('WEB_AUTH=token needs WEB_TOKEN');
    if (auth.mode === 'header' && !auth.header) throw new Error('WEB_AUTH=header needs WEB_AUTH_HEADER');
  }

  get mode(): WebAuthMode {
    return this.auth.mode;
  }

  /**
   * The request's identity. With WEB_AUTH=none a browser without a session gets a new one (`issue`),
   * unless it showed a cookie this server did not sign: that request is refused and the cookie cleared.
   */
  async identify(c: Context, issue: boolean): Promise<Identify> {
    if (this.auth.mode === 'header') return this.fromHeader(c);
    const value = await getSignedCookie(c, this.auth.secret, SESSION_COOKIE);
    if (value === false) {
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return this.refuse(
        'Your session cookie was not issued by this server. Reload the page to start a new session.',
      );
    }
    const owner = value ? this.ownerOf(value) : null;
    if (owner) return { ok: true, identity: { owner, userId: owner } };
    if (this.auth.mode === 'none' && issue) return { ok: true, identity: await this.start(c, randomOwner()) };
    return this.refuse(
      this.auth.mode === 'token'
        ? 'Enter the access token of this server to use it.'
        : 'Reload the page to start a session.',
    );
  }

  /** token mode: checks an entered token and starts a session (admin for the admin token). */
  async signIn(c: Context, token: string): Promise<WebIdentity | null> {
    if (this.auth.mode !== 'token') return null;
    if (this.auth.adminToken && sameSecret(token, this.auth.adminToken)) return this.start(c, ADMIN_OWNER);
    if (sameSecret(token, this.auth.token as string)) return this.start(c, randomOwner());
    return null;
  }

  private async start(c: Context, owner: string): Promise<WebIdentity> {
    await setSignedCookie(c, SESSION_COOKIE, `${this.tag(owner)}.${owner}`, this.auth.secret, {
      path: '/',
      httpOnly: true,
      sameSite: 'Strict',
      secure: this.secure,
      maxAge: SESSION_DAYS * 24 * 3600,
    });
    return { owner, userId: owner };
  }

  /**
   * What a cookie's value must start with: the mode and a digest of the token it was issued for,
   * so switching WEB_AUTH or changing a token ends the sessions issued before.
   */
  private tag(owner: string): string {
    const secret =
      this.auth.mode !== 'token' ? '' : owner === ADMIN_OWNER ? this.auth.adminToken : this.auth.token;
    return `${this.auth.mode}-${digest(secret ?? '')}`;
  }

  private ownerOf(value: string): string | null {
    const dot = value.indexOf('.');
    const owner = value.slice(dot + 1);
    if (dot < 0 || !owner) return null;
    if (owner === ADMIN_OWNER && !(this.auth.mode === 'token' && this.auth.adminToken)) return null;
    return value.slice(0, dot) === this.tag(owner) ? owner : null;
  }

  private fromHeader(c: Context): Identify {
    const name = this.auth.header as string;
    const id = c.req.header(name)?.trim() ?? '';
    if (!PROXY_ID.test(id)) {
      return this.refuse(`This server expects its reverse proxy to name the person in the ${name} header.`);
    }
    return { ok: true, identity: { owner: id, userId: id } };
  }

  private refuse(error: string): Identify {
    return { ok: false, status: 401, error, auth: this.auth.mode };
  }
}

function randomOwner(): string {
  return randomBytes(12).toString('base64url');
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 10);
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
