#!/usr/bin/env node
// The CLI is TypeScript over the same lib/ functions as the web console; tsx compiles it on load.
require("tsx/cjs/api").register();
// Output piped into a reader that stops early (`plan --json | head`): stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}
require("./main.ts")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
