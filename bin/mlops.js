#!/usr/bin/env node
// `npx mlops ...`: the compiled CLI in dist/, or the TypeScript when dist/ is stale (bin/launch.js).
require('./launch').launch('mlops');
