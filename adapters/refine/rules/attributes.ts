import {
  type MentionOf,
  type PartialObject,
  POSITION_GRID,
  type Position,
  positionAt,
  SIZES,
} from '../../scene/index.ts';
import { type EditState, shownPosition } from './state.ts';

export type Attribute = MentionOf<'colour' | 'size' | 'count' | 'position' | 'resize' | 'shift'>;

const MOVE_VERBS = new Set(['move', 'moved', 'shift', 'push', 'slide', 'drag', 'nudge', 'bring']);
const STEP_WORDS = new Set(['more', 'further', 'farther', 'bit', 'slightly', 'tad']);

export interface ClauseContext {
  words: ReadonlySet<string>;
  tokens: readonly string[];
  /** What the clause has said so far about each object's row and column ("right corner, at the top"). */
  said: Map<PartialObject, { row?: number; col?: number }>;
}

export function applyAttribute(
  state: EditState,
  o: PartialObject,
  m: Attribute,
  context: ClauseContext,
): void {
  switch (m.kind) {
    case 'colour':
      if (!m.negation) o.colour = m.colour;
      else if (o.colour === m.colour) delete o.colour;
      return;
    case 'size':
      if (!m.negation) o.size = m.size;
      else if (o.size === m.size) delete o.size;
      return;
    case 'count':
      if (!m.negation) o.count = m.count;
      else if (o.count === m.count) delete o.count;
      return;
    case 'resize': {
      const i = SIZES.indexOf(o.size ?? 'medium') + m.steps;
      o.size = SIZES[Math.min(2, Math.max(0, i))];
      return;
    }
    case 'shift': {
      const { row, col } = POSITION_GRID[shownPosition(state, o)];
      o.position = positionAt(Math.min(2, Math.max(0, row + m.rows)), col);
      return;
    }
    case 'position':
      if (m.negation) {
        if (o.position === m.position) delete o.position;
        return;
      }
      o.position = movedTo(shownPosition(state, o), m, context, context.said.get(o));
      context.said.set(o, { ...context.said.get(o), ...axes(m) });
  }
}

function axes(m: MentionOf<'position'>): { row?: number; col?: number } {
  const out: { row?: number; col?: number } = {};
  if (m.row !== undefined) out.row = m.row;
  if (m.col !== undefined) out.col = m.col;
  return out;
}

/**
 * "more to the left" steps one cell that way; "move it to the left" keeps the row; "on the
 * left" is the left cell, unless the same clause already gave the row ("at the top, on the left").
 */
function movedTo(
  from: Position,
  m: MentionOf<'position'>,
  context: ClauseContext,
  said: { row?: number; col?: number } | undefined,
): Position {
  const cell = POSITION_GRID[from];
  if (context.tokens.slice(Math.max(0, m.start - 3), m.start).some((t) => STEP_WORDS.has(t))) {
    const toward = (a: number, b: number | undefined) => (b === undefined ? a : a + Math.sign(b - a));
    return positionAt(toward(cell.row, m.row), toward(cell.col, m.col));
  }
  if ([...context.words].some((w) => MOVE_VERBS.has(w)))
    return positionAt(m.row ?? cell.row, m.col ?? cell.col);
  return positionAt(m.row ?? said?.row ?? 1, m.col ?? said?.col ?? 1);
}
