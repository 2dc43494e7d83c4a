import type { TranscriptRecord } from '../../core/ports.ts';
import { tenantOf } from '../../core/tenant.ts';

/** A transcript record as its row's values, in the column order both stores insert them. */
export type TranscriptRow = [string, string, string, number, string, string, number];

export function transcriptRow(record: TranscriptRecord): TranscriptRow {
  return [
    record.threadKey,
    tenantOf(record.threadKey),
    record.roundId,
    record.roundIndex,
    record.userHash,
    JSON.stringify(record),
    record.createdAt,
  ];
}
