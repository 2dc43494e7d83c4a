/**
 * What a run on real data will call and cost, printed before it starts (prices from
 * adapters/providers/prices.ts, overridable with MODEL_PRICES). Estimates: the generator's price
 * is its list price per image; a VLM call is priced at VLM_TOKENS_PER_CALL tokens.
 */
import { imageCost, type PriceTable } from '../../adapters/providers/prices.ts';
import { vlmCallEstimate } from './vlm-user.ts';

export interface CostPlan {
  dialogues: number;
  /** Upper bounds: round 0 (description and first drawing) is shared by a target's conditions. */
  generatorCalls: number;
  vlmCalls: number;
  /** USD per call; null when prices.ts does not know the model (a local or offline one: free). */
  generatorPrice: number | null;
  vlmPrice: number | null;
  totalUsd: number;
}

/** The model name inside a generator id ("replicate:black-forest-labs/flux-schnell" → the model). */
export const generatorModel = (generatorId: string): string =>
  generatorId.slice(generatorId.indexOf(':') + 1);

export function costPlan(o: {
  targets: number;
  /** Rounds after round 0 of each condition (0 for round 0 only). */
  roundsPerCondition: number[];
  generatorId: string;
  vlmModel: string;
  prices: PriceTable;
}): CostPlan {
  const later = o.roundsPerCondition.reduce((s, r) => s + r, 0);
  const calls = o.targets * (1 + later);
  const generatorPrice = imageCost(o.prices, generatorModel(o.generatorId)) ?? null;
  const vlm = vlmCallEstimate(o.prices, o.vlmModel);
  const vlmPrice = vlm > 0 ? vlm : null;
  return {
    dialogues: o.targets * o.roundsPerCondition.length,
    generatorCalls: calls,
    vlmCalls: calls,
    generatorPrice,
    vlmPrice,
    totalUsd: calls * (generatorPrice ?? 0) + calls * (vlmPrice ?? 0),
  };
}

const usd = (x: number) => `$${x < 1 ? x.toFixed(4) : x.toFixed(2)}`;

export function costLines(plan: CostPlan, generatorId: string, vlmModel: string, maxCost?: number): string[] {
  const price = (p: number | null, calls: number) =>
    p === null ? 'no price in prices.ts (free, or set MODEL_PRICES)' : `${usd(p)} each ≈ ${usd(p * calls)}`;
  return [
    `Expected calls (at most; ${plan.dialogues} dialogues):`,
    `  generator ${generatorId}: ${plan.generatorCalls.toLocaleString('en')} images, ${price(plan.generatorPrice, plan.generatorCalls)}`,
    `  VLM user ${vlmModel}: ${plan.vlmCalls.toLocaleString('en')} calls, ${price(plan.vlmPrice, plan.vlmCalls)}`,
    `  estimated total ${usd(plan.totalUsd)}${maxCost !== undefined ? ` (--max-cost ${usd(maxCost)})` : ' (no --max-cost)'}; cached calls of an earlier attempt are not paid again`,
  ];
}
