import { randomBytes } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import type { ChatEngine, ChatFrontEnd } from '../../../core/ports.ts';
import type { ThreadSink, ThreadState } from '../../../core/types.ts';
import { TerminalRenderer } from './renderer.ts';
import { encodeThreadId } from './thread-id.ts';

export interface TerminalChatOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  outDir: string;
  /** Resume this session's thread; a new one otherwise. */
  session?: string;
  userId?: string;
}

/** A readline chat: each line is a message in one thread; /quit ends it. */
export class TerminalChat implements ChatFrontEnd {
  readonly name = 'terminal';
  readonly session: string;
  /** Resolves once the input has ended (or /quit) and every message has been answered. */
  readonly finished: Promise<void>;
  private readonly renderer: TerminalRenderer;
  private readonly pending: Promise<void>[] = [];
  private readline: Interface | null = null;
  private finish: () => void = () => {};
  private seq = 0;

  constructor(
    private readonly engine: ChatEngine,
    private readonly options: TerminalChatOptions,
  ) {
    this.session =
      options.session ?? `${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
    this.renderer = new TerminalRenderer(options.outDir);
    this.finished = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  get threadKey(): string {
    return encodeThreadId(this.session);
  }

  private print(text: string): void {
    this.options.output.write(`${text}\n`);
  }

  private sink(): ThreadSink {
    return {
      send: async (reply) => this.print(await this.renderer.render(reply)),
      progress: (text) => this.print(`… ${text}`),
    };
  }

  /** One typed line: a message or command in the thread; false for /quit. */
  handleLine(line: string): { quit: boolean; done: Promise<void> } {
    if (/^\s*\/(quit|exit)\s*$/i.test(line)) return { quit: true, done: Promise.resolve() };
    if (!line.trim()) return { quit: false, done: Promise.resolve() };
    const done = this.engine.onMessage(
      {
        key: this.threadKey,
        eventId: `${this.session}:${process.pid}:${Date.now()}:${this.seq++}`,
        userId: this.options.userId ?? 'terminal-user',
        text: line,
      },
      this.sink(),
    );
    return { quit: false, done };
  }

  /** Greets and starts reading lines; `finished` tells when the conversation is over. */
  async start(): Promise<void> {
    this.print(resumeText(this.session, await this.engine.thread(this.threadKey)));
    const rl = createInterface({ input: this.options.input, terminal: false });
    this.readline = rl;
    void this.read(rl).finally(() => this.finish());
  }

  /** Stops reading; messages already sent are still answered. */
  async stop(): Promise<void> {
    this.readline?.close();
    await this.idle();
  }

  async idle(): Promise<void> {
    await Promise.all(this.pending);
    await this.engine.idle();
  }

  private async read(rl: Interface): Promise<void> {
    // Lines are sent in order without waiting, as in a chat; the engine merges what arrives mid-round.
    for await (const line of rl) {
      const { quit, done } = this.handleLine(line);
      if (quit) break;
      this.pending.push(done);
    }
    rl.close();
    await this.idle();
  }
}

/** The greeting: a new thread, or where a resumed one stands (found already, or searching). */
export function resumeText(session: string, state: ThreadState | null): string {
  const rounds = state?.rounds.length ?? 0;
  if (!state || rounds === 0) {
    return `New thread ${session} (resume later with: genir chat --thread ${session}).\nDescribe the image you remember. /help lists the commands.`;
  }
  if (state.status === 'found' && state.found) {
    const n = state.rounds.findIndex((r) => r.id === state.found?.roundId) + 1;
    return `Resumed thread ${session}: this search is already found (round ${n || rounds}, ${state.found.assetId}). A correction searches again; /reset starts a new search.`;
  }
  return `Resumed thread ${session} at round ${rounds}: correct the last round, or /pick n.`;
}
