/**
 * Server-sent events: one stream per open page (tab), subscribed to one thread (by thread key) on
 * behalf of one browser (its owner); thread-list changes go to that owner's tabs only. A stream starts
 * with a snapshot of the thread; events published while the snapshot is being built are held
 * back and sent right after it, so a tab never misses or reorders a post.
 */

const encoder = new TextEncoder();
/** A tab that stops reading (asleep, gone) is dropped once this much is queued for it. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

export interface SseEvent {
  event: string;
  data: unknown;
}

export function formatSse(e: SseEvent): string {
  // JSON has no raw newlines, so the data fits on one `data:` line.
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

class Subscriber {
  private held: SseEvent[] | null = [];
  closed = false;

  constructor(
    readonly threadKey: string,
    readonly owner: string,
    readonly clientId: string | null,
    private readonly controller: ReadableStreamDefaultController<Uint8Array>,
    private readonly onClose: (s: Subscriber) => void,
  ) {}

  send(e: SseEvent): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push(e);
      return;
    }
    this.write(formatSse(e));
  }

  /** Sends the snapshot, then everything held back while it was built. */
  open(snapshot: SseEvent): void {
    const held = this.held ?? [];
    this.held = null;
    this.write(formatSse(snapshot));
    for (const e of held) this.write(formatSse(e));
  }

  ping(): void {
    if (!this.closed && !this.held) this.write(': ping\n\n');
  }

  write(text: string): void {
    if (this.closed) return;
    try {
      this.controller.enqueue(encoder.encode(text));
      if ((this.controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) this.close();
    } catch {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.close();
    } catch {
      // already closed or cancelled by the client
    }
    this.onClose(this);
  }
}

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly busy = new Map<string, { count: number; progress: string | null }>();
  private readonly keepalive: NodeJS.Timeout;

  constructor() {
    this.keepalive = setInterval(() => {
      for (const s of this.subscribers) s.ping();
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /**
   * A response body streaming the events of one thread. `snapshot` is called after the stream is
   * subscribed; its event is sent first.
   */
  stream(
    threadKey: string,
    owner: string,
    clientId: string | null,
    snapshot: () => Promise<SseEvent>,
  ): ReadableStream<Uint8Array> {
    let sub: Subscriber | null = null;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          sub = new Subscriber(threadKey, owner, clientId, controller, (s) => this.subscribers.delete(s));
          this.subscribers.add(sub);
          const s = sub;
          s.write('retry: 2000\n\n');
          snapshot().then(
            (e) => s.open(e),
            () => s.close(),
          );
        },
        cancel: () => {
          sub?.close();
        },
      },
      { highWaterMark: 1 << 20, size: (chunk) => chunk.byteLength },
    );
  }

  /** To every tab on the thread, or only to one tab (`only`: its client id) when given. */
  publish(threadKey: string, event: string, data: unknown, only?: string | null): void {
    for (const s of this.subscribers) {
      if (s.threadKey !== threadKey) continue;
      if (only && s.clientId !== only) continue;
      s.send({ event, data });
    }
  }

  /** To every open tab of one owner, whatever thread it shows (thread list changes). */
  broadcast(owner: string, event: string, data: unknown): void {
    for (const s of this.subscribers) if (s.owner === owner) s.send({ event, data });
  }

  /** Marks a thread busy while an event of it runs; returns the function that ends it. */
  begin(threadKey: string): () => void {
    const b = this.busy.get(threadKey) ?? { count: 0, progress: null };
    b.count++;
    this.busy.set(threadKey, b);
    if (b.count === 1) this.publish(threadKey, 'busy', { busy: true, progress: b.progress });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      b.count--;
      if (b.count === 0) {
        this.busy.delete(threadKey);
        this.publish(threadKey, 'busy', { busy: false, progress: null });
      }
    };
  }

  progress(threadKey: string, text: string): void {
    const b = this.busy.get(threadKey);
    if (b) b.progress = text;
    this.publish(threadKey, 'progress', { text });
  }

  status(threadKey: string): { busy: boolean; progress: string | null } {
    const b = this.busy.get(threadKey);
    return { busy: (b?.count ?? 0) > 0, progress: b?.progress ?? null };
  }

  /** Open streams (for tests and logs). */
  get size(): number {
    return this.subscribers.size;
  }

  closeAll(): void {
    clearInterval(this.keepalive);
    for (const s of [...this.subscribers]) s.close();
  }
}
