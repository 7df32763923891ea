// What bench/compare.ts needs of one version of the gateway, compiled into one file per side.
export { createApp } from '../src/app';
export { loadConfig } from '../src/env';
export { openDatabase } from '../src/db/database';
