// Preloaded (`node -r`) by scripts/build-cli.js while it records `mlops --help`: at exit, writes the
// files of every CommonJS module the process loaded, as JSON, to the file named by
// MLOPS_LOADED_MODULES, so the build knows which sources the recorded help depends on.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  writeFileSync(process.env.MLOPS_LOADED_MODULES, JSON.stringify(Object.keys(require.cache)));
});
