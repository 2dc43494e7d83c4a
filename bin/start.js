#!/usr/bin/env node
// `npm start`: the bots, or the web playground when no platform is configured (bots/main.ts).
import { launch } from './launch.js';

await launch('bots/main');
