import type { RoundImageStore } from '../../../core/ports.ts';
import type { ThreadKey } from '../../../core/types.ts';
import { roundImageRef } from '../files.ts';
import type { PostgresDatabase } from './database.ts';

/**
 * Round pictures as bytea rows. Every instance reads what any other drew without a shared disk,
 * "forget" removes them in the same database as the thread, and one backup holds everything.
 * The refs are the same relative paths FileRoundImageStore uses, so exports read either store.
 */
export class PostgresRoundImageStore implements RoundImageStore {
  constructor(private readonly db: PostgresDatabase) {}

  async put(key: ThreadKey, roundId: string, png: Buffer): Promise<string> {
    const ref = roundImageRef(key, roundId);
    await this.db.query(
      `INSERT INTO round_images (ref, thread_key, png) VALUES ($1, $2, $3)
       ON CONFLICT (ref) DO UPDATE SET png = excluded.png`,
      [ref, key, png],
    );
    return ref;
  }

  async get(ref: string): Promise<Buffer | null> {
    const { rows } = await this.db.query<{ png: Buffer }>('SELECT png FROM round_images WHERE ref = $1', [
      ref,
    ]);
    return rows[0]?.png ?? null;
  }

  async delete(ref: string): Promise<void> {
    await this.db.query('DELETE FROM round_images WHERE ref = $1', [ref]);
  }

  async deleteThread(key: ThreadKey): Promise<void> {
    await this.db.query('DELETE FROM round_images WHERE thread_key = $1', [key]);
  }
}
