#!/usr/bin/env node
// The CLI is TypeScript over the same lib/ functions as the web console; tsx compiles it on load.
require("tsx/cjs/api").register();
require("./main.ts")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
