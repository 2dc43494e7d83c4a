/** What `genir eval` uses when it runs; cli.ts loads it then, so `genir --help` does not. */
export { jsonProgress, progressBar } from '../../adapters/progress/index.ts';
export { loadConfig } from '../../bots/config.ts';
export { BudgetExceededError } from './call-cache.ts';
export { costLines, costPlan } from './costs.ts';
export { openPixelWorld } from './pixel-world.ts';
export { hitsTable } from './report.ts';
export { conditionOf, readFinished, runEval } from './run.ts';
export { evalStats, statsMarkdown, writeStats } from './stats.ts';
export { openGalleryWorld, openSceneWorld } from './worlds.ts';
