/** The conditions `genir eval` compares (data only: `genir --help` lists their names). */

export interface Condition {
  /** Short name for legends. */
  short: string;
  label: string;
  /**
   * What the user gets to see each round: 'image' the synthetic picture (GenIR), 'text' the
   * bot's refined query only (verbal baseline), 'matches' the shown top-K (ChatIR/PlugIR-style).
   */
  channel: 'image' | 'text' | 'matches' | 'routed';
  /** A router condition's router (scripts/eval/routers.ts): 'routed' shows the picture of drawn rounds, the query of text rounds. */
  router?: string;
  seenExclusion: boolean;
  /** The user says "/more n" when a shown match looks closer to the target than the drawing. */
  relevanceFeedback: boolean;
  /** false: round 0 only. */
  refine: boolean;
}

export const CONDITIONS = {
  visual: {
    short: 'visual (GenIR)',
    label: 'visual (GenIR): the user sees the synthetic image and corrects it',
    channel: 'image',
    seenExclusion: false,
    relevanceFeedback: false,
    refine: true,
  },
  verbal: {
    short: 'verbal',
    label: "verbal (GenIR's text-only baseline): the user sees only the bot's refined query",
    channel: 'text',
    seenExclusion: false,
    relevanceFeedback: false,
    refine: true,
  },
  prediction: {
    short: 'prediction (ChatIR/PlugIR)',
    label: 'prediction feedback: the user sees only the top-10 matches and corrects the closest one',
    channel: 'matches',
    seenExclusion: false,
    relevanceFeedback: false,
    refine: true,
  },
  round0: {
    short: 'round 0 only',
    label: 'round 0 only: the full first description, no refinement',
    channel: 'image',
    seenExclusion: false,
    relevanceFeedback: false,
    refine: false,
  },
  'visual+exclusion': {
    short: 'visual + seen-exclusion',
    label: 'product: visual, and the bot never shows an image twice',
    channel: 'image',
    seenExclusion: true,
    relevanceFeedback: false,
    refine: true,
  },
  'visual+feedback': {
    short: 'visual + relevance feedback',
    label: 'product: visual, plus "/more n" when a shown match looks closer than the drawing',
    channel: 'image',
    seenExclusion: false,
    relevanceFeedback: true,
    refine: true,
  },
} as const satisfies Record<string, Condition>;

/** A fixed condition's name, or a router condition's ("router=heuristic", "router=random@0.3"). */
export type ConditionName = string;
/** The fixed conditions ("all"). */
export const CONDITION_NAMES = Object.keys(CONDITIONS);
