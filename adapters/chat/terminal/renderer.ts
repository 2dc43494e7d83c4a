import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FoundView, Reply, RoundView } from '../../../core/types.ts';
import { topMatches } from '../shared/text.ts';
import { decodeThreadId } from './thread-id.ts';

/** Renders replies as text for a terminal; pictures go to files under `outDir/<session>/`. */
export class TerminalRenderer {
  constructor(private readonly outDir: string) {}

  async render(reply: Reply): Promise<string> {
    switch (reply.kind) {
      case 'notice':
        return reply.level === 'error' ? `! ${reply.text}` : reply.text;
      case 'round':
        return this.round(reply.view);
      case 'found':
        return this.found(reply.view);
    }
  }

  private dirFor(threadKey: string): string {
    return join(this.outDir, decodeThreadId(threadKey).session);
  }

  /** Writes the round's pictures; returns their paths. */
  async writeRoundFiles(view: RoundView): Promise<{ synthetic: string | null; sheet: string }> {
    const dir = this.dirFor(view.threadKey);
    await mkdir(dir, { recursive: true });
    const stem = `round-${String(view.roundNumber).padStart(2, '0')}`;
    const sheet = join(dir, `${stem}-matches.png`);
    await writeFile(sheet, view.contactSheetPng);
    if (!view.syntheticPng) return { synthetic: null, sheet };
    const synthetic = join(dir, `${stem}-synthetic.png`);
    await writeFile(synthetic, view.syntheticPng);
    return { synthetic, sheet };
  }

  /** Copies the picked original next to the rounds; returns its path, or null if unreadable. */
  async writeFound(view: FoundView): Promise<string | null> {
    if (!view.file) return null;
    const dir = this.dirFor(view.threadKey);
    await mkdir(dir, { recursive: true });
    const copy = join(dir, `found-${view.fileName}`);
    await writeFile(copy, view.file);
    return copy;
  }

  private async round(view: RoundView): Promise<string> {
    const { synthetic, sheet } = await this.writeRoundFiles(view);
    const lines = [`── Round ${view.roundNumber} ── ${view.query}`];
    if (synthetic) {
      if (view.interpretation) lines.push(`I drew: ${view.interpretation}`);
      lines.push(`Synthetic image: ${synthetic}`);
    } else {
      lines.push(view.noPicture ?? '(no new drawing this round)');
    }
    lines.push(`${topMatches(view.tiles.length)}: ${sheet}`);
    for (const t of view.tiles) {
      lines.push(`  ${String(t.n).padStart(2)}. ${t.title.slice(0, 70).padEnd(70)} ${t.score.toFixed(3)}`);
    }
    for (const note of view.notes) lines.push(`Note: ${note}`);
    if (view.consentNotice) lines.push(view.consentNotice);
    const keep = view.actions.keep ? ', /keep' : '';
    lines.push(
      `Correct me in words, or /pick n, /more n, /not, /regen, /draw, /nodraw, /undo, /reset${keep}, /help, /quit`,
    );
    return lines.join('\n');
  }

  private async found(view: FoundView): Promise<string> {
    const lines = [
      `Found it in round ${view.roundNumber}: ${view.asset.title}`,
      `Original: ${view.asset.source}`,
    ];
    const copy = await this.writeFound(view);
    lines.push(copy ? `Copied to: ${copy}` : '(the original file could not be read)');
    return lines.join('\n');
  }
}
