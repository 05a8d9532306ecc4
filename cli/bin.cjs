#!/usr/bin/env node
// The CLI is TypeScript over the same lib/ functions as the web console; tsx compiles it on load.
require("tsx/cjs/api").register();
// Output piped into a reader that stops early (`plan --json | head`): the rest of the output is
// dropped, but the command runs to its end and exits with its own code (an apply must not be cut
// short, or reported as done, because nobody reads its log any more).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code !== "EPIPE") throw e;
    stream.write = (_chunk, encoding, callback) => {
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") done();
      return true;
    };
  });
}
require("./main.ts")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
