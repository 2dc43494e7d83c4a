import type { WebChat } from '../adapters/chat/web/adapter.ts';
import type { FrontEndFactory } from './front-ends.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

const PHOTO_EXAMPLES = ['the banner with an orange fox', 'a photo of a red bicycle against a brick wall'];

/** The local web playground on WEB_HOST:WEB_PORT: `npm start` when no chat platform is configured. */
export const webFrontEnd: FrontEndFactory<WebChat> = {
  name: 'web',
  configured: () => true,
  async create({ engine, config, logger, gallery, images }) {
    const { DEFAULT_EXAMPLES, WebChat } = await import('../adapters/chat/web/adapter.ts');
    return new WebChat(
      { engine, gallery, images, logger },
      {
        port: config.WEB_PORT,
        host: config.WEB_HOST,
        localOnly: LOOPBACK.has(config.WEB_HOST),
        examples: config.GENERATOR === 'sketch' ? DEFAULT_EXAMPLES : PHOTO_EXAMPLES,
      },
    );
  },
  describe: (web) => `GenIR is running at ${web.url} — open it in a browser (Ctrl+C to stop).`,
};
