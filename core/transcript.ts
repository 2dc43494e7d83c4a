import type { TranscriptRecord } from './ports.ts';
import type { Round, ThreadState } from './types.ts';

/** One round as a transcript record (GenIR: query, synthetic image, retrieved list, label). */
export function toTranscriptRecord(
  state: ThreadState,
  round: Round,
  hashUser: (userId: string) => string,
): TranscriptRecord {
  const picked = round.feedback.some((f) => f.kind === 'picked');
  return {
    threadKey: state.key,
    roundId: round.id,
    roundIndex: round.index,
    userHash: hashUser(round.userId),
    message: round.userText,
    query: round.query,
    generatorId: round.generated?.generatorId ?? null,
    seed: round.generated?.seed ?? null,
    syntheticImage: round.generated?.image ?? null,
    encoderId: round.encoderId,
    retrieved: round.matches.map((m) => ({ assetId: m.assetId, score: m.score })),
    feedback: round.feedback.map((f) => ({ kind: f.kind, assetIds: f.assetIds })),
    label: picked ? 1 : 0,
    timings: round.timings,
    createdAt: round.createdAt,
  };
}
