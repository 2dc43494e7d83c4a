import { describe, expect, it } from 'vitest';
import {
  COMMANDS,
  commandSet,
  decodeActionId,
  encodeActionId,
  helpText,
  isThreadless,
  LATEST,
  parseTypedCommand,
} from '../../commands/index.ts';
import { ACTION_NAMES } from '../../core/action-id.ts';

describe('command set', () => {
  it('round-trips action ids and keeps them within 100 characters', () => {
    const id = encodeActionId('more', 'AbC123xyz', 7);
    expect(id).toBe('genir:more:AbC123xyz:7');
    expect(decodeActionId(id)).toEqual({ action: 'more', roundId: 'AbC123xyz', arg: '7' });
    expect(decodeActionId(encodeActionId('undo', 'r1'))).toEqual({ action: 'undo', roundId: 'r1' });
    expect(() => encodeActionId('pick', 'x'.repeat(100), 1)).toThrow(/too long/);
  });

  it('rejects ids that are not ours', () => {
    for (const id of [
      '',
      'genir:pick',
      'other:pick:r:1',
      'genir:explode:r:1',
      'genir:pick::1',
      'genir:a:b:c:d',
    ]) {
      expect(decodeActionId(id)).toBeNull();
    }
  });

  it('parses typed commands and their aliases, acting on the latest round', () => {
    expect(parseTypedCommand('/pick 3')).toEqual({
      kind: 'action',
      ref: { action: 'pick', roundId: LATEST, arg: '3' },
    });
    expect(parseTypedCommand('  /More-Like 2')).toEqual({
      kind: 'action',
      ref: { action: 'more', roundId: LATEST, arg: '2' },
    });
    expect(parseTypedCommand('/not')).toEqual({ kind: 'action', ref: { action: 'not', roundId: LATEST } });
    expect(parseTypedCommand('/find a red fox\non teal')).toEqual({
      kind: 'find',
      text: 'a red fox\non teal',
    });
    expect(parseTypedCommand('/nope')).toEqual({ kind: 'unknown', name: 'nope' });
    expect(parseTypedCommand('a red circle / blue')).toBeNull();
  });

  it('lists every command in the help text with the platform prefix, admin ones only to admins', () => {
    const text = helpText('!');
    const adminText = helpText('!', { admin: true });
    for (const c of COMMANDS) {
      expect(adminText).toContain(`!${c.name}`);
      if (c.admin) expect(text).not.toContain(`!${c.name}`);
      else expect(text).toContain(`!${c.name}`);
    }
  });

  it('names every action the engine knows, once', () => {
    const actions = COMMANDS.map((c) => c.action).filter((a) => a !== 'find');
    expect(actions.toSorted()).toEqual([...ACTION_NAMES].sort());
  });

  it('serves the engine as its CommandSet: typed commands and "/" help', () => {
    expect(commandSet.parseTyped('/undo')).toEqual(parseTypedCommand('/undo'));
    expect(commandSet.help()).toBe(helpText('/'));
    expect(commandSet.help({ admin: true })).toBe(helpText('/', { admin: true }));
  });

  it('knows which actions work outside a search thread, and no other word', () => {
    expect(ACTION_NAMES.filter(isThreadless)).toEqual(['forget', 'status', 'export']);
    expect(isThreadless('toString' as never)).toBe(false);
    expect(isThreadless('explode' as never)).toBe(false);
  });
});
