/**
 * Turns what the engine says (RoundView, FoundView, notices) and what the store holds (a thread's
 * rounds) into the JSON the web page renders. Pictures are never inlined: they are URLs the
 * server answers by id (round pictures by thread + round id, gallery pictures by asset id).
 */
import { type ActionName, type CommandSpec, commandSpec } from '../../../commands/index.ts';
import type { TranscriptPolicy } from '../../../core/consent.ts';
import type { Gallery } from '../../../core/ports.ts';
import { assetFileName, consentFor, NO_PICTURE, roundActions } from '../../../core/round-view.ts';
import type {
  Asset,
  FoundView,
  Reply,
  Round,
  RoundActions,
  RoundCause,
  RoundTile,
  RoundView,
  ThreadState,
} from '../../../core/types.ts';
import { threadTitle } from '../shared/text.ts';
import { decodeThreadId } from './thread-id.ts';

export const TITLE_MAX_CHARS = 60;

export interface WebTile {
  n: number;
  assetId: string;
  title: string;
  score: number;
  thumbUrl: string;
  /** Full-size picture (displayable in the page). */
  url: string;
  /** Action ids: "That's it" and "More like" for this tile. */
  pick: string;
  moreLike: string;
}

export interface WebSynthetic {
  url: string;
  /** The round whose picture this is (an earlier one when this round reused its picture). */
  round: number;
  kind: 'drawing' | 'upload';
  reused: boolean;
}

export interface WebRound {
  kind: 'round';
  roundId: string;
  round: number;
  query: string;
  interpretation: string | null;
  cause: RoundCause | null;
  synthetic: WebSynthetic | null;
  /** What to say in place of the picture of a text round (no picture by choice), else null. */
  noPicture: string | null;
  /** Numbered contact sheet of the matches (one PNG, e.g. to save or share). */
  sheetUrl: string;
  tiles: WebTile[];
  notes: string[];
  /** On the first round: whether and how rounds are kept for research. */
  consentNotice: string | null;
  feedback: { picked: number | null; moreLike: number[]; notThese: boolean };
  /** `keep` ("Keep this search for research") while the search is not kept yet (TRANSCRIPTS=opt-in). */
  actions: Pick<RoundActions, 'notThese' | 'regenerate' | 'undo' | 'newSearch' | 'keep'>;
}

export interface WebFound {
  kind: 'found';
  round: number;
  asset: { id: string; title: string; caption: string | null; width: number | null; height: number | null };
  url: string;
  thumbUrl: string;
  downloadUrl: string;
  fileName: string;
  /** false when the original file could not be read. */
  available: boolean;
}

export interface WebNotice {
  kind: 'notice';
  level: 'info' | 'warn' | 'error';
  text: string;
  ephemeral: boolean;
}

/** What a person sent: a message, or a control they pressed (shown as a chip). */
export interface WebUser {
  kind: 'user';
  text: string;
  action: ActionName | null;
  image: string | null;
}

export type WebPost = WebRound | WebFound | WebNotice | WebUser;

export interface WebThreadSummary {
  id: string;
  title: string;
  /** 'new': no round yet. */
  status: 'new' | 'active' | 'found';
  rounds: number;
  currentRoundId: string | null;
  roundIds: string[];
  /** The person pressed "Keep this search for research". */
  kept: boolean;
  /** A small picture of the search: the match picked, else the latest drawing or upload. */
  thumbUrl: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface WebThread extends WebThreadSummary {
  posts: WebPost[];
  busy: boolean;
  progress: string | null;
}

const enc = encodeURIComponent;

export const urls = {
  synthetic: (threadId: string, roundId: string) =>
    `/img/rounds/${enc(threadId)}/${enc(roundId)}/synthetic.png`,
  sheet: (threadId: string, roundId: string) => `/img/rounds/${enc(threadId)}/${enc(roundId)}/sheet.png`,
  asset: (assetId: string) => `/img/assets/${enc(assetId)}`,
  thumb: (assetId: string) => `/img/assets/${enc(assetId)}/thumb`,
  original: (assetId: string) => `/img/assets/${enc(assetId)}/original`,
};

/** The chip text of a pressed control ("More like #3"). */
export function actionLabel(action: ActionName, n?: number | string): string {
  switch (action) {
    case 'pick':
      return n ? `That's it: #${n}` : "That's it";
    case 'more':
      return n ? `More like #${n}` : 'More like…';
    default:
      return (commandSpec(action) as CommandSpec | undefined)?.label ?? action;
  }
}

const CAUSE_ACTION: Partial<Record<RoundCause, ActionName>> = {
  'more-like': 'more',
  'not-these': 'not',
  regenerate: 'regen',
};

interface RoundFields {
  threadId: string;
  roundId: string;
  roundNumber: number;
  query: string;
  interpretation: string | null;
  tiles: RoundTile[];
  notes: string[];
  consentNotice: string | null;
  actions: RoundActions;
  cause: RoundCause | null;
  synthetic: WebSynthetic | null;
  noPicture: string | null;
  feedback: WebRound['feedback'];
}

function roundJson(f: RoundFields): WebRound {
  return {
    kind: 'round',
    roundId: f.roundId,
    round: f.roundNumber,
    query: f.query,
    interpretation: f.interpretation,
    cause: f.cause,
    synthetic: f.synthetic,
    noPicture: f.noPicture,
    sheetUrl: urls.sheet(f.threadId, f.roundId),
    tiles: f.tiles.map((t, i) => ({
      n: t.n,
      assetId: t.assetId,
      title: t.title,
      score: t.score,
      thumbUrl: urls.thumb(t.assetId),
      url: urls.asset(t.assetId),
      pick: f.actions.pick[i] as string,
      moreLike: f.actions.moreLike[i] as string,
    })),
    notes: f.notes,
    consentNotice: f.consentNotice,
    feedback: f.feedback,
    actions: {
      notThese: f.actions.notThese,
      regenerate: f.actions.regenerate,
      undo: f.actions.undo,
      newSearch: f.actions.newSearch,
      ...(f.actions.keep ? { keep: f.actions.keep } : {}),
    },
  };
}

/** The picture shown with a round: its own, else the latest earlier round's (reused for feedback rounds). */
function syntheticOf(threadId: string, state: ThreadState | null, round: Round): WebSynthetic | null {
  const own = round.generated;
  // A text round shows no picture on purpose, not the last one.
  if (round.route?.decision === 'text') return null;
  if (own) {
    return {
      url: urls.synthetic(threadId, round.id),
      round: round.index + 1,
      kind: own.generatorId === 'upload' ? 'upload' : 'drawing',
      reused: false,
    };
  }
  const earlier = state?.rounds
    .slice(0, round.index)
    .reverse()
    .find((r) => r.generated);
  if (!earlier?.generated) return null;
  return {
    url: urls.synthetic(threadId, earlier.id),
    round: earlier.index + 1,
    kind: earlier.generated.generatorId === 'upload' ? 'upload' : 'drawing',
    reused: true,
  };
}

function feedbackOf(round: Round): WebRound['feedback'] {
  const number = (assetId: string | undefined) => {
    const i = round.matches.findIndex((m) => m.assetId === assetId);
    return i >= 0 ? i + 1 : null;
  };
  const picked = round.feedback.findLast((f) => f.kind === 'picked');
  return {
    picked: picked ? number(picked.assetIds[0]) : null,
    moreLike: round.feedback
      .filter((f) => f.kind === 'more-like')
      .map((f) => number(f.assetIds[0]))
      .filter((n): n is number => n !== null),
    notThese: round.feedback.some((f) => f.kind === 'not-these'),
  };
}

export class WebRenderer {
  /** `transcripts`: the engine's policy, to show stored rounds with the research notice and Keep as they were. */
  constructor(
    private readonly gallery: Gallery,
    private readonly transcripts: TranscriptPolicy = 'off',
  ) {}

  /** A reply from the engine; `state` is the thread as stored right after it (null if unknown). */
  async reply(reply: Reply, state: ThreadState | null): Promise<WebPost> {
    switch (reply.kind) {
      case 'notice':
        return { kind: 'notice', level: reply.level, text: reply.text, ephemeral: reply.ephemeral ?? false };
      case 'round':
        return this.roundFromView(reply.view, state);
      case 'found':
        return this.foundFromView(reply.view);
    }
  }

  roundFromView(view: RoundView, state: ThreadState | null): WebRound {
    const { id: threadId } = decodeThreadId(view.threadKey);
    const round = state?.rounds.find((r) => r.id === view.roundId) ?? null;
    const synthetic: WebSynthetic | null = round
      ? syntheticOf(threadId, state, round)
      : view.syntheticPng
        ? {
            url: urls.synthetic(threadId, view.roundId),
            round: view.roundNumber,
            kind: 'drawing',
            reused: false,
          }
        : null;
    return roundJson({
      threadId,
      roundId: view.roundId,
      roundNumber: view.roundNumber,
      query: view.query,
      interpretation: view.interpretation ?? null,
      tiles: view.tiles,
      notes: view.notes,
      consentNotice: view.consentNotice ?? null,
      actions: view.actions,
      cause: round?.cause ?? null,
      synthetic,
      noPicture: view.noPicture ?? null,
      feedback: round ? feedbackOf(round) : { picked: null, moreLike: [], notThese: false },
    });
  }

  foundFromView(view: FoundView): WebFound {
    return foundJson(view.roundNumber, view.asset, view.fileName, view.file !== null);
  }

  summary(state: ThreadState): WebThreadSummary {
    const { id } = decodeThreadId(state.key);
    const first = state.rounds[0];
    return {
      id,
      title:
        state.title ?? (first ? threadTitle(first.userText || first.query, TITLE_MAX_CHARS) : 'New search'),
      status: state.rounds.length === 0 ? 'new' : state.status,
      rounds: state.rounds.length,
      currentRoundId: state.rounds.at(-1)?.id ?? null,
      roundIds: state.rounds.map((r) => r.id),
      kept: state.consent !== undefined,
      thumbUrl: thumbOf(id, state),
      createdAt: state.createdAt,
      updatedAt: state.updatedAt,
    };
  }

  /** The whole thread as the page shows it after a reload: what was said and every stored round. */
  async thread(state: ThreadState, live: { busy: boolean; progress: string | null }): Promise<WebThread> {
    const { id: threadId } = decodeThreadId(state.key);
    const ids = [...new Set(state.rounds.flatMap((r) => r.matches.map((m) => m.assetId)))];
    const assets = await this.gallery.getMany(ids);
    const posts: WebPost[] = [];
    for (const round of state.rounds) {
      const user = userPostOf(round);
      if (user) posts.push(user);
      posts.push(this.roundFromState(threadId, state, round, assets));
    }
    const found = state.status === 'found' ? state.found : undefined;
    if (found) {
      const round = state.rounds.find((r) => r.id === found.roundId);
      const n = round ? round.matches.findIndex((m) => m.assetId === found.assetId) + 1 : 0;
      posts.push({ kind: 'user', text: actionLabel('pick', n || undefined), action: 'pick', image: null });
      const asset = (await this.gallery.get(found.assetId)) ?? {
        id: found.assetId,
        source: '',
        title: found.assetId,
      };
      const fileName = assetFileName(asset);
      posts.push(
        foundJson(round ? round.index + 1 : state.rounds.length, asset, fileName, asset.source !== ''),
      );
    }
    return { ...this.summary(state), posts, busy: live.busy, progress: live.progress };
  }

  private roundFromState(
    threadId: string,
    state: ThreadState,
    round: Round,
    assets: Map<string, Asset>,
  ): WebRound {
    const consent = consentFor(state, round, this.transcripts);
    return roundJson({
      threadId,
      roundId: round.id,
      roundNumber: round.index + 1,
      query: round.query,
      interpretation: round.generated?.interpretation ?? null,
      tiles: round.matches.map((m, i) => ({
        n: i + 1,
        assetId: m.assetId,
        title: assets.get(m.assetId)?.title ?? m.assetId,
        score: m.score,
      })),
      notes: round.notes,
      consentNotice: consent.text,
      actions: roundActions(round, consent.offerKeep),
      cause: round.cause,
      synthetic: syntheticOf(threadId, state, round),
      noPicture: round.route?.decision === 'text' ? NO_PICTURE : null,
      feedback: feedbackOf(round),
    });
  }
}

function foundJson(round: number, asset: Asset, fileName: string, available: boolean): WebFound {
  return {
    kind: 'found',
    round,
    asset: {
      id: asset.id,
      title: asset.title,
      caption: asset.caption ?? null,
      width: asset.width ?? null,
      height: asset.height ?? null,
    },
    url: urls.asset(asset.id),
    thumbUrl: urls.thumb(asset.id),
    downloadUrl: urls.original(asset.id),
    fileName,
    available,
  };
}

/** What the person did to start a stored round, as the chat showed it live. */
function userPostOf(round: Round): WebUser | null {
  const action = CAUSE_ACTION[round.cause];
  if (action) {
    const n = action === 'more' ? /(\d+)/.exec(round.userText)?.[1] : undefined;
    return { kind: 'user', text: actionLabel(action, n), action, image: null };
  }
  if (round.cause === 'image') {
    return { kind: 'user', text: round.userText, action: null, image: 'picture' };
  }
  return round.userText ? { kind: 'user', text: round.userText, action: null, image: null } : null;
}

function thumbOf(threadId: string, state: ThreadState): string | null {
  if (state.status === 'found' && state.found) return urls.thumb(state.found.assetId);
  const drawn = state.rounds.findLast((r) => r.generated);
  return drawn ? urls.synthetic(threadId, drawn.id) : null;
}
