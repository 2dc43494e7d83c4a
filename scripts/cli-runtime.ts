/**
 * What the genir commands that run the engine or its stores (chat, ask, demo-gallery, web, export,
 * …) use: scripts/cli.ts loads it only when one of them runs (scripts/lazy.ts), never for --help.
 */
export { TerminalChat } from '../adapters/chat/terminal/adapter.ts';
export { TerminalRenderer } from '../adapters/chat/terminal/renderer.ts';
export { encodeThreadId } from '../adapters/chat/terminal/thread-id.ts';
export { jsonProgress, progressBar } from '../adapters/progress/index.ts';
export { exportTranscripts } from '../adapters/store/transcript-export.ts';
export { loadConfig } from '../bots/config.ts';
export { ensureDemoGallery } from '../bots/demo-gallery.ts';
export { loadEncoder } from '../bots/encoder.ts';
export { startFrontEnd } from '../bots/front-ends.ts';
export { openStores } from '../bots/ports.ts';
export { buildRuntime, createLogger } from '../bots/runtime.ts';
export { webFrontEnd } from '../bots/web.ts';
