/**
 * Whether a message says anything the rule refiner can search for, and if not, how to name it for
 * the person ("a link", "a code block", …). The scene vocabulary (adapters/scene) is what the
 * sketch generator draws; with a generator that draws any text, any words of a language count.
 */
import { lexScene, type Mention } from '../../scene/index.ts';

/** Mentions that describe a scene by themselves; a number or "it" only correct one ("two of them"). */
const DESCRIBING = new Set<Mention['kind']>([
  'shape',
  'generic',
  'colour',
  'size',
  'resize',
  'position',
  'shift',
  'background',
]);

const URL = /\b(?:https?:\/\/|www\.)\S+/gi;
const CODE = /```[\s\S]*?(?:```|$)|`[^`\n]*`/g;
/** "pick 3", "more 2", "undo": a command typed without its slash ("not red" is a correction). */
const BARE_COMMAND = /^(?:(?:pick|more)\s+\d+|undo|regen|regenerate|reset|keep|help|status|export)$/i;
/** A word of some language: 2–24 letters, with a vowel (a run of one letter is not a word). */
const WORD = /^(?=.*[aeiouyàâäéèêëîïôöùûüœæ])\p{L}{2,24}$/iu;

export const EXAMPLES = [
  'a large red circle at the top left',
  'two small blue stars on a yellow background',
  'a green triangle in the center, and a purple heart below it',
];

export interface Understanding {
  understood: boolean;
  /** When not understood: what the message was, in a few words. */
  unrecognised?: string;
}

/** `correcting`: there is a scene already, which a number or "it" can be about. */
export function understand(message: string, freeText: boolean, correcting = false): Understanding {
  const text = message.trim();
  if (BARE_COMMAND.test(text))
    return {
      understood: false,
      unrecognised: `"${short(text)}" (a command needs its slash: /${short(text).toLowerCase()})`,
    };
  const prose = text.replace(CODE, ' ').replace(URL, ' ');
  if (lexScene(prose).mentions.some((m) => correcting || DESCRIBING.has(m.kind))) return { understood: true };
  if (freeText && isWords(prose)) return { understood: true };
  return { understood: false, unrecognised: nameOf(text, prose) };
}

function isWords(text: string): boolean {
  const words = text.split(/[^\p{L}]+/u).filter(Boolean);
  const real = words.filter((w) => WORD.test(w) && !/^(\p{L})\1+$/iu.test(w));
  return real.length > 0 && real.length >= words.length / 2;
}

function nameOf(text: string, prose: string): string {
  const kinds = [CODE.test(text) ? 'a code block' : null, URL.test(text) ? 'a link' : null].filter(Boolean);
  CODE.lastIndex = 0;
  URL.lastIndex = 0;
  if (kinds.length > 0 && !prose.trim()) return kinds.join(' and ');
  return `"${short(text)}"`;
}

function short(text: string): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > 40 ? `${one.slice(0, 37)}…` : one;
}
