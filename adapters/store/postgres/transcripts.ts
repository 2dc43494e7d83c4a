import type { TranscriptRecord, TranscriptStore } from '../../../core/ports.ts';
import type { TenantId } from '../../../core/tenant.ts';
import type { ThreadKey } from '../../../core/types.ts';
import { transcriptRow } from '../transcript-row.ts';
import type { PostgresDatabase } from './database.ts';

/** Per-round transcript records in the GenIR data format, one row per (thread, round). */
export class PostgresTranscriptStore implements TranscriptStore {
  constructor(private readonly db: PostgresDatabase) {}

  async put(record: TranscriptRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO transcripts (thread_key, tenant, round_id, round_index, user_hash, record, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (thread_key, round_id) DO UPDATE SET round_index = excluded.round_index,
         user_hash = excluded.user_hash, record = excluded.record, created_at = excluded.created_at`,
      transcriptRow(record),
    );
  }

  async removeRound(threadKey: ThreadKey, roundId: string): Promise<void> {
    await this.db.query('DELETE FROM transcripts WHERE thread_key = $1 AND round_id = $2', [
      threadKey,
      roundId,
    ]);
  }

  async removeThread(threadKey: ThreadKey): Promise<number> {
    return this.remove('DELETE FROM transcripts WHERE thread_key = $1', [threadKey]);
  }

  async removeUser(userHash: string, tenant: TenantId): Promise<number> {
    return this.remove('DELETE FROM transcripts WHERE user_hash = $1 AND tenant = $2', [userHash, tenant]);
  }

  async removeTenant(tenant: TenantId): Promise<number> {
    return this.remove('DELETE FROM transcripts WHERE tenant = $1', [tenant]);
  }

  async purgeBefore(time: number): Promise<number> {
    return this.remove('DELETE FROM transcripts WHERE created_at < $1', [time]);
  }

  /** Records ordered by thread, then round index; `since` keeps records created at or after it (ms). */
  async list(
    options: { since?: number; threadKey?: ThreadKey; tenant?: TenantId } = {},
  ): Promise<TranscriptRecord[]> {
    const { rows } = await this.db.query<{ record: TranscriptRecord }>(
      `SELECT record FROM transcripts
       WHERE ($1::bigint IS NULL OR created_at >= $1) AND ($2::text IS NULL OR thread_key = $2)
         AND ($3::text IS NULL OR tenant = $3)
       ORDER BY thread_key COLLATE "C", round_index, created_at`,
      [options.since ?? null, options.threadKey ?? null, options.tenant ?? null],
    );
    return rows.map((r) => r.record);
  }

  /** Runs a DELETE; returns how many records it removed. */
  private async remove(sql: string, params: unknown[]): Promise<number> {
    return (await this.db.query(sql, params)).rowCount ?? 0;
  }
}
