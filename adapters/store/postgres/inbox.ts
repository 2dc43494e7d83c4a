import type { InboxEntry, ThreadInbox } from '../../../core/ports.ts';
import type { InboundMessage, ThreadKey } from '../../../core/types.ts';
import type { PostgresDatabase } from './database.ts';
import type { PostgresStoreOptions } from './threads.ts';

/** An inbound message as jsonb: uploaded bytes as base64. */
type StoredMessage = Omit<InboundMessage, 'images'> & { images?: { name: string; data: string }[] };

function toStored({ images, ...rest }: InboundMessage): StoredMessage {
  return images
    ? { ...rest, images: images.map((i) => ({ name: i.name, data: i.data.toString('base64') })) }
    : rest;
}

function fromStored({ images, ...rest }: StoredMessage): InboundMessage {
  return images
    ? { ...rest, images: images.map((i) => ({ name: i.name, data: Buffer.from(i.data, 'base64') })) }
    : rest;
}

/** Every instance's accepted, unanswered messages, one row each, in arrival (sequence) order. */
export class PostgresInbox implements ThreadInbox {
  private readonly now: () => number;

  constructor(
    private readonly db: PostgresDatabase,
    options: PostgresStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async push(message: InboundMessage): Promise<number> {
    const { rows } = await this.db.query<{ seq: number }>(
      'INSERT INTO thread_inbox (thread_key, message, accepted_at) VALUES ($1, $2, $3) RETURNING seq',
      [message.key, JSON.stringify(toStored(message)), this.now()],
    );
    return (rows[0] as { seq: number }).seq;
  }

  async pending(key: ThreadKey): Promise<InboxEntry[]> {
    const { rows } = await this.db.query<{ seq: number; message: StoredMessage; accepted_at: number }>(
      'SELECT seq, message, accepted_at FROM thread_inbox WHERE thread_key = $1 ORDER BY seq',
      [key],
    );
    return rows.map((r) => ({ seq: r.seq, message: fromStored(r.message), acceptedAt: r.accepted_at }));
  }

  async consume(key: ThreadKey, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.db.query('DELETE FROM thread_inbox WHERE thread_key = $1 AND seq = ANY($2::bigint[])', [
      key,
      [...seqs],
    ]);
  }

  async stale(ageMs: number, limit: number): Promise<ThreadKey[]> {
    const { rows } = await this.db.query<{ thread_key: string }>(
      `SELECT thread_key FROM thread_inbox WHERE accepted_at < $1
       GROUP BY thread_key ORDER BY min(seq) LIMIT $2`,
      [this.now() - ageMs, limit],
    );
    return rows.map((r) => r.thread_key);
  }
}
