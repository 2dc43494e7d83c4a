import { type ActionName, encodeActionId } from './action-id.ts';
import { CONSENT_TEXT, type TranscriptPolicy } from './consent.ts';
import type { Gallery, GalleryResolver, RoundImageStore, RoundPictures } from './ports.ts';
import type { Asset, FoundView, Round, RoundActions, RoundTile, RoundView, ThreadState } from './types.ts';

export interface ViewDeps {
  galleries: GalleryResolver;
  images: RoundImageStore;
  pictures: RoundPictures;
}

export function roundActions(round: Round, offerKeep = false): RoundActions {
  const id = (action: ActionName, arg?: number) => encodeActionId(action, round.id, arg);
  return {
    pick: round.matches.map((_, i) => id('pick', i + 1)),
    moreLike: round.matches.map((_, i) => id('more', i + 1)),
    notThese: id('not'),
    regenerate: id('regen'),
    undo: id('undo'),
    newSearch: id('reset'),
    ...(offerKeep ? { keep: id('keep') } : {}),
  };
}

/** The research notice goes on the first round; the keep button on every round until pressed. */
export function consentFor(state: ThreadState, round: Round, policy: TranscriptPolicy) {
  const text = round.index === 0 ? CONSENT_TEXT[policy] : null;
  const offerKeep = policy === 'opt-in' && !state.consent;
  return { text, offerKeep };
}

/** What front ends say in place of the picture of a text round (the notes say why). */
export const NO_PICTURE = 'No picture this round: my reading of your words is above (/draw for a picture).';

export async function buildRoundView(
  state: ThreadState,
  round: Round,
  deps: ViewDeps,
  policy: TranscriptPolicy = 'off',
): Promise<RoundView> {
  const consent = consentFor(state, round, policy);
  // A gallery unbound since the round ran leaves its tiles as placeholders.
  const gallery = (await deps.galleries.forThread(state.key))?.gallery ?? null;
  const assets = gallery
    ? await gallery.getMany(round.matches.map((m) => m.assetId))
    : new Map<string, Asset>();
  const tiles: RoundTile[] = round.matches.map((m, i) => ({
    n: i + 1,
    assetId: m.assetId,
    title: assets.get(m.assetId)?.title ?? m.assetId,
    score: m.score,
  }));
  const [syntheticPng, contactSheetPng] = await Promise.all([
    syntheticFor(round, deps),
    deps.pictures.contactSheet(
      await Promise.all(
        tiles.map(async (t) => {
          const asset = assets.get(t.assetId);
          const png = asset && gallery ? await tileImage(gallery, asset) : null;
          return png
            ? { n: t.n, png, label: t.title }
            : { n: t.n, png: null, label: t.title, error: asset ? 'file missing' : 'not in gallery' };
        }),
      ),
    ),
  ]);
  return {
    threadKey: state.key,
    roundId: round.id,
    roundNumber: round.index + 1,
    query: round.query,
    ...(round.generated?.interpretation ? { interpretation: round.generated.interpretation } : {}),
    syntheticPng,
    ...(round.route?.decision === 'text' ? { noPicture: NO_PICTURE } : {}),
    contactSheetPng,
    tiles,
    notes: round.notes,
    ...(consent.text ? { consentNotice: consent.text } : {}),
    actions: roundActions(round, consent.offerKeep),
  };
}

/** A contact sheet tile: the gallery's thumbnail when it keeps them, else the original. */
function tileImage(gallery: Gallery, asset: Asset): Promise<Buffer | null> {
  return gallery.thumbnail ? gallery.thumbnail(asset) : gallery.read(asset);
}

async function syntheticFor(round: Round, deps: ViewDeps): Promise<Buffer | null> {
  if (!round.generated) return null;
  const png = await deps.images.get(round.generated.image);
  if (!png) return null;
  return deps.pictures.synthetic({ png, query: round.query, roundNumber: round.index + 1 });
}

export async function buildFoundView(
  state: ThreadState,
  round: Round,
  assetId: string,
  gallery: Gallery | null,
): Promise<FoundView> {
  const asset = (await gallery?.get(assetId)) ?? { id: assetId, source: '', title: assetId };
  const file = asset.source && gallery ? await gallery.read(asset) : null;
  return { threadKey: state.key, roundNumber: round.index + 1, asset, file, fileName: assetFileName(asset) };
}

/** The name an asset's original is posted under: its file name, else its id. */
export function assetFileName(asset: Asset): string {
  return asset.source.split(/[\\/]/).pop() || `${asset.id}.png`;
}
