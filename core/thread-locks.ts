import type { InboxEntry, ThreadInbox, ThreadLease, ThreadLocks } from './ports.ts';
import type { InboundMessage, ThreadKey } from './types.ts';

/** Per-thread locks within one process (one instance): a queue of waiters per key, no lease needed. */
export class InProcessLocks implements ThreadLocks {
  private readonly tails = new Map<ThreadKey, Promise<void>>();

  async acquire(key: ThreadKey, signal?: AbortSignal): Promise<ThreadLease> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await (signal ? Promise.race([previous, rejectOnAbort(signal)]) : previous);
    } catch (err) {
      this.free(key, tail, release);
      throw err;
    }
    return {
      lost: new AbortController().signal,
      release: async () => this.free(key, tail, release),
    };
  }

  private free(key: ThreadKey, tail: Promise<void>, release: () => void): void {
    release();
    if (this.tails.get(key) === tail) this.tails.delete(key);
  }
}

/** Thread inboxes within one process (one instance); a crash loses what was waiting, as before. */
export class InProcessInbox implements ThreadInbox {
  private readonly entries = new Map<ThreadKey, InboxEntry[]>();
  /**
   * A saved thread remembers the sequence numbers it answered (ThreadState.inboxAnswered), and this
   * inbox starts empty in every process: numbering from the wall clock (µs) keeps a restarted
   * process's first message from reusing a number the thread already answered.
   */
  private seq = Date.now() * 1000;

  constructor(private readonly now: () => number = Date.now) {}

  async push(message: InboundMessage): Promise<number> {
    const entry = { seq: ++this.seq, message, acceptedAt: this.now() };
    this.entries.set(message.key, [...(this.entries.get(message.key) ?? []), entry]);
    return entry.seq;
  }

  async pending(key: ThreadKey): Promise<InboxEntry[]> {
    return [...(this.entries.get(key) ?? [])];
  }

  async consume(key: ThreadKey, seqs: readonly number[]): Promise<void> {
    const gone = new Set(seqs);
    const left = (this.entries.get(key) ?? []).filter((e) => !gone.has(e.seq));
    if (left.length > 0) this.entries.set(key, left);
    else this.entries.delete(key);
  }

  async stale(ageMs: number, limit: number): Promise<ThreadKey[]> {
    const before = this.now() - ageMs;
    return [...this.entries]
      .filter(([, entries]) => (entries[0]?.acceptedAt ?? Infinity) < before)
      .map(([key]) => key)
      .slice(0, limit);
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
