import type { TranscriptRecord, TranscriptStore } from '../../../core/ports.ts';
import type { TenantId } from '../../../core/tenant.ts';
import type { ThreadKey } from '../../../core/types.ts';
import { type TranscriptRow, transcriptRow } from '../transcript-row.ts';
import type { SqliteDatabase } from './database.ts';

/** Per-round transcript records in the GenIR data format, one row per (thread, round). */
export class SqliteTranscriptStore implements TranscriptStore {
  private readonly statements;

  constructor(db: SqliteDatabase) {
    const c = db.connection;
    this.statements = {
      put: c.prepare<TranscriptRow>(
        `INSERT INTO transcripts (thread_key, tenant, round_id, round_index, user_hash, record, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (thread_key, round_id) DO UPDATE SET round_index = excluded.round_index,
           user_hash = excluded.user_hash, record = excluded.record, created_at = excluded.created_at`,
      ),
      removeUser: c.prepare<[string, string]>('DELETE FROM transcripts WHERE user_hash = ? AND tenant = ?'),
      removeTenant: c.prepare<[string]>('DELETE FROM transcripts WHERE tenant = ?'),
      purgeBefore: c.prepare<[number]>('DELETE FROM transcripts WHERE created_at < ?'),
      remove: c.prepare<[string, string]>('DELETE FROM transcripts WHERE thread_key = ? AND round_id = ?'),
      removeThread: c.prepare<[string]>('DELETE FROM transcripts WHERE thread_key = ?'),
      list: c.prepare<
        { since: number | null; threadKey: string | null; tenant: string | null },
        { record: string }
      >(
        `SELECT record FROM transcripts
         WHERE (@since IS NULL OR created_at >= @since) AND (@threadKey IS NULL OR thread_key = @threadKey)
           AND (@tenant IS NULL OR tenant = @tenant)
         ORDER BY thread_key, round_index, created_at`,
      ),
    };
  }

  async put(record: TranscriptRecord): Promise<void> {
    this.statements.put.run(...transcriptRow(record));
  }

  async removeRound(threadKey: ThreadKey, roundId: string): Promise<void> {
    this.statements.remove.run(threadKey, roundId);
  }

  async removeThread(threadKey: ThreadKey): Promise<number> {
    return this.statements.removeThread.run(threadKey).changes;
  }

  async removeUser(userHash: string, tenant: TenantId): Promise<number> {
    return this.statements.removeUser.run(userHash, tenant).changes;
  }

  async removeTenant(tenant: TenantId): Promise<number> {
    return this.statements.removeTenant.run(tenant).changes;
  }

  async purgeBefore(time: number): Promise<number> {
    return this.statements.purgeBefore.run(time).changes;
  }

  /** Records ordered by thread, then round index; `since` keeps records created at or after it (ms). */
  async list(
    options: { since?: number; threadKey?: ThreadKey; tenant?: TenantId } = {},
  ): Promise<TranscriptRecord[]> {
    const rows = this.statements.list.all({
      since: options.since ?? null,
      threadKey: options.threadKey ?? null,
      tenant: options.tenant ?? null,
    });
    return rows.map((row) => JSON.parse(row.record) as TranscriptRecord);
  }
}
