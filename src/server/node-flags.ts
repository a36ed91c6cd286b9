import { readFileSync } from "node:fs";

/**
 * The Node flags the `switchboard` command runs with: those on its `#!/usr/bin/env -S node …` line
 * (src/server/cli.ts). `npm start`, the Dockerfile's ENTRYPOINT and the benchmark start the server with
 * the same ones (test/deploy.test.ts checks it), so every way of starting it gets the same memory
 * behaviour. Why these flags: docs/benchmarks.md ("Idle streams: the young generation").
 */
export function commandNodeFlags(cliFile: string): string[] {
  const first = readFileSync(cliFile, "utf8").split("\n", 1)[0] ?? "";
  const match = /^#!\/usr\/bin\/env(?: -S)? node((?: --?[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!match) throw new Error(`${cliFile} does not start with a "#!/usr/bin/env -S node …" line`);
  return match[1]!.trim().split(/\s+/).filter((flag) => flag !== "");
}
