import { type Lexed, lexScene, type Mention } from './lexer.ts';
import { MAX_OBJECTS, type PartialObject, type PartialScene } from './scene.ts';
import { positionAt } from './vocabulary.ts';

type Anchor = Extract<Mention, { kind: 'shape' | 'generic' }>;
type Attribute = Extract<Mention, { kind: 'colour' | 'size' | 'count' }>;

/** What a free text says about a scene; unknown words are ignored, unsaid attributes left out. */
export function parseScene(text: string): PartialScene {
  return sceneFromLexed(lexScene(text));
}

function sceneFromLexed(lexed: Lexed): PartialScene {
  const mentions = lexed.mentions.filter((m) => !m.negation);
  const objects: PartialObject[] = [];
  const anchors: { mention: Anchor; object: number }[] = [];
  for (const m of mentions) {
    if (m.kind !== 'shape' && m.kind !== 'generic') continue;
    let object = referredObject(objects, m);
    if (object < 0) {
      objects.push(m.kind === 'shape' ? { shape: m.shape } : {});
      object = objects.length - 1;
      if (m.plural) (objects[object] as PartialObject).count = 2;
    }
    anchors.push({ mention: m, object });
  }
  let background: PartialScene['background'];
  const said = new Map<PartialObject, { clause: number; row?: number; col?: number }>();
  for (const m of mentions) {
    if (m.kind === 'background') background = m.colour;
    if (m.kind !== 'colour' && m.kind !== 'size' && m.kind !== 'count' && m.kind !== 'position') continue;
    let object = anchorFor(m, anchors)?.object;
    if (object === undefined) {
      if (objects.length === 0) objects.push({});
      object = 0;
    }
    const o = objects[object] as PartialObject;
    if (m.kind !== 'position') {
      setAttribute(o, m);
      continue;
    }
    // "in the right corner, at the top": one clause may give the column and row separately.
    const before = said.get(o)?.clause === m.clause ? said.get(o) : undefined;
    const row = m.row ?? before?.row;
    const col = m.col ?? before?.col;
    o.position = positionAt(row ?? 1, col ?? 1);
    said.set(o, { clause: m.clause, row, col });
  }
  const scene: PartialScene = { objects: objects.slice(0, MAX_OBJECTS) };
  if (background) scene.background = background;
  return scene;
}

/** "the circle" is the circle already mentioned; "a circle" / "another circle" is a new one. */
function referredObject(objects: PartialObject[], m: Anchor): number {
  const reuses =
    m.determiner === 'definite' || m.determiner === 'none' || (m.kind === 'generic' && m.word === 'one');
  if (!reuses) return -1;
  if (m.kind === 'generic') return objects.length - 1;
  return objects.findLastIndex((o) => o.shape === m.shape);
}

/**
 * The noun an attribute belongs to: the nearest one in its clause (adjectives lean forward,
 * "red circle"; positions lean back, "circle at the top"), else the last noun before the clause,
 * else the first one after it.
 */
function anchorFor<A extends { mention: Mention }>(m: Mention, anchors: A[]): A | undefined {
  const inClause = anchors.filter((a) => a.mention.clause === m.clause);
  if (inClause.length === 0) {
    return anchors.findLast((a) => a.mention.end < m.start) ?? anchors.find((a) => a.mention.start > m.end);
  }
  const leansBack = m.kind === 'position';
  let best: A | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const a of inClause) {
    const after = a.mention.start > m.end;
    const distance = after ? a.mention.start - m.end : m.start - a.mention.end;
    const score = distance * 2 + (after === leansBack ? 1 : 0);
    if (score < bestScore) {
      best = a;
      bestScore = score;
    }
  }
  return best;
}

function setAttribute(o: PartialObject, m: Attribute): void {
  if (m.kind === 'colour') o.colour = m.colour;
  else if (m.kind === 'size') o.size = m.size;
  else o.count = m.count;
}
