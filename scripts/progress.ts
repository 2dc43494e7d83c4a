// Moved to adapters/progress; this re-export serves only bots/main.ts until its rewrite imports
// ../adapters/progress/index.ts (then delete this file and the exception in tests/bots/layering.test.ts).
export * from '../adapters/progress/index.ts';
