// The CDK app `cdk synth` runs (cdk.json): bin/app.ts compiled in dist/, or the TypeScript when
// dist/ is stale (bin/launch.js). Compiled, a synth skips tsx's loader, which weighed on every one
// of the ~1,000 modules a synth requires (bench/README.md, "startup").
require('./launch').launch('app');
