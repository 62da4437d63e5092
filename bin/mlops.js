#!/usr/bin/env node
// `npx mlops ...` from a clone, with no build step: tsx compiles the TypeScript on the fly.
require('tsx/cjs');
require('./mlops.ts');
