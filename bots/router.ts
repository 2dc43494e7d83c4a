/**
 * The feedback router from config (ROUTER), and what checks drawings: the learned router's
 * weights are read from ROUTER_MODEL (a JSON file written by `npm run eval:train-router`) and
 * refused when its feature list is not the one core computes.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { sceneDrawingCheck } from '../adapters/generate/sketch/drawing-check.ts';
import type { DrawingCheck, FeedbackRouter } from '../core/ports.ts';
import {
  AlwaysRouter,
  HeuristicRouter,
  LearnedRouter,
  NeverRouter,
  type RouterModel,
} from '../core/router.ts';
import type { Config } from './config.ts';

const modelSchema = z.object({
  kind: z.literal('logistic'),
  features: z.array(z.string()),
  weights: z.array(z.number()),
  threshold: z.number().min(0).max(1),
  trainedOn: z.unknown().optional(),
});

/** Reads and checks a learned router's weights; the error names the file and what is wrong. */
export function loadRouterModel(path: string): RouterModel {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`ROUTER_MODEL ${path}: cannot read it (${(err as Error).message})`);
  }
  const model = modelSchema.safeParse(parsed);
  if (!model.success) throw new Error(`ROUTER_MODEL ${path}: not a router model (${model.error.message})`);
  return model.data as RouterModel;
}

export function buildRouter(config: Pick<Config, 'ROUTER' | 'ROUTER_MODEL'>): FeedbackRouter {
  switch (config.ROUTER) {
    case 'always':
      return new AlwaysRouter();
    case 'never':
      return new NeverRouter();
    case 'heuristic':
      return new HeuristicRouter();
    case 'learned':
      try {
        return new LearnedRouter(loadRouterModel(config.ROUTER_MODEL));
      } catch (err) {
        throw new Error(`ROUTER=learned: ${(err as Error).message}`);
      }
  }
}

/** Drawings can be checked for unasked objects where the generator's words can be read: the sketch generator. */
export function buildDrawingCheck(config: Pick<Config, 'GENERATOR'>): DrawingCheck | undefined {
  return config.GENERATOR === 'sketch' ? sceneDrawingCheck : undefined;
}
