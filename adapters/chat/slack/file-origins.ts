/** Where the Slack bot token may be sent to download people's files (SLACK_FILE_ORIGINS). */

export const SLACK_FILE_ORIGINS = ['https://files.slack.com'];

/** Checks the file-download allow-list: exact origins, over https unless the host is loopback (local fakes). */
export function checkFileOrigins(origins: readonly string[]): readonly string[] {
  for (const o of origins) {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new Error(`Slack file origin "${o}" is not a URL (expected e.g. https://files.slack.com).`);
    }
    if (url.origin !== o)
      throw new Error(
        `Slack file origin "${o}" must be an origin only (scheme://host[:port]): ${url.origin}`,
      );
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !loopback)
      throw new Error(`Slack file origin "${o}" must use https: the bot token is sent there.`);
  }
  return origins;
}
