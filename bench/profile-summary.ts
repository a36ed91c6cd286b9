/**
 * Where a server's CPU time went, from the V8 profiles `npm run bench -- --cpu-prof <dir>`
 * writes: self time grouped by who owns the code (this project, each npm
 * package, Node's internals, garbage collection), then the hottest functions.
 * Usage: node dist/bench/profile-summary.js <dir> [top]
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function owner(url: string, name: string): string {
  if (url === "") return name.startsWith("(") ? name : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return "node internals";
  const project = /\/dist\/(src|gen)\/([^/]+)/.exec(url);
  if (project) return `switchboard ${project[1]}/${project[2]}`;
  return url;
}

function summarize(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const dt = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") return;
    busy += dt;
    const who = owner(url, functionName);
    byOwner.set(who, (byOwner.get(who) ?? 0) + dt);
    const fn = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/dist\//, "")}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
  });
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
  console.log(`${path.basename(file)}: ${(busy / 1000).toFixed(0)} ms busy`);
  for (const [who, t] of [...byOwner].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(t)}  ${who}`);
  console.log("  hottest functions (self time):");
  for (const [fn, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(t)}  ${fn}`);
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node dist/bench/profile-summary.js <dir> [top]\n");
  process.exit(2);
}
for (const f of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) summarize(path.join(dir, f), Number(process.argv[3] ?? 20));
