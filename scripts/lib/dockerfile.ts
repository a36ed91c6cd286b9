// A reader for the subset of Dockerfile syntax Switchboard's Dockerfile uses, so the steps can be run
// and checked without a Docker engine (scripts/docker-steps.ts, test/deploy.test.ts). Anything outside
// that subset is an error rather than a silently skipped step.

export interface Stage {
  readonly name: string | undefined;
  readonly image: string;
  readonly steps: readonly Step[];
}

export type Step =
  | { readonly kind: "workdir"; readonly path: string }
  | { readonly kind: "copy"; readonly from: string | undefined; readonly sources: readonly string[]; readonly dest: string }
  | { readonly kind: "run"; readonly command: string }
  | { readonly kind: "env"; readonly name: string; readonly value: string }
  | { readonly kind: "user"; readonly user: string }
  | { readonly kind: "expose"; readonly port: number }
  | { readonly kind: "healthcheck"; readonly options: Readonly<Record<string, string>>; readonly command: readonly string[] }
  | { readonly kind: "stopsignal"; readonly signal: string }
  | { readonly kind: "entrypoint"; readonly command: readonly string[] }
  | { readonly kind: "cmd"; readonly command: readonly string[] };

/** The stages of a Dockerfile, in order. */
export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string | undefined; image: string; steps: Step[] }[] = [];
  for (const line of logicalLines(text)) {
    const [, keyword = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = keyword.toUpperCase();
    if (instruction === "FROM") {
      const [, image = "", name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      if (image === "") throw new Error(`FROM without an image: ${line}`);
      stages.push({ name, image, steps: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${instruction} before FROM`);
    stage.steps.push(parseStep(instruction, rest, line));
  }
  return stages;
}

function parseStep(instruction: string, rest: string, line: string): Step {
  switch (instruction) {
    case "WORKDIR":
      return { kind: "workdir", path: rest };
    case "COPY": {
      const words = rest.split(/\s+/);
      const from = words[0]?.startsWith("--from=") ? words.shift()!.slice("--from=".length) : undefined;
      if (words.some((w) => w.startsWith("--")) || words.length < 2) throw new Error(`unsupported COPY: ${line}`);
      return { kind: "copy", from, sources: words.slice(0, -1), dest: words.at(-1)! };
    }
    case "RUN":
      if (rest.startsWith("[")) throw new Error(`only the shell form of RUN is supported: ${line}`);
      return { kind: "run", command: rest };
    case "ENV": {
      const [, name = "", value = ""] = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(rest) ?? [];
      if (name === "") throw new Error(`only ENV NAME=value (one per line) is supported: ${line}`);
      return { kind: "env", name, value };
    }
    case "USER":
      return { kind: "user", user: rest };
    case "EXPOSE":
      return { kind: "expose", port: Number(rest.replace(/\/tcp$/, "")) };
    case "HEALTHCHECK": {
      const options: Record<string, string> = {};
      let remaining = rest;
      for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(remaining); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(remaining)) {
        options[m[1]!] = m[2]!;
        remaining = remaining.slice(m[0].length);
      }
      if (!remaining.startsWith("CMD ")) throw new Error(`HEALTHCHECK needs CMD: ${line}`);
      return { kind: "healthcheck", options, command: execForm(remaining.slice(4), line) };
    }
    case "STOPSIGNAL":
      return { kind: "stopsignal", signal: rest };
    case "ENTRYPOINT":
      return { kind: "entrypoint", command: execForm(rest, line) };
    case "CMD":
      return { kind: "cmd", command: execForm(rest, line) };
    default:
      throw new Error(`unsupported instruction ${instruction}: ${line}`);
  }
}

/** The exec (JSON array) form; the shell form is refused, as signals would reach the shell, not node. */
function execForm(text: string, line: string): string[] {
  const parsed: unknown = JSON.parse(text.trim());
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === "string")) throw new Error(`expected the exec form ["..."]: ${line}`);
  return parsed;
}

/** Lines with continuations joined, comments and blank lines dropped. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw)) continue; // also inside a continued instruction, as Docker does
    const continued = /\\\s*$/.test(raw);
    pending += (pending === "" ? "" : " ") + raw.replace(/\\\s*$/, "").trim();
    if (continued) continue;
    if (pending.trim() !== "") lines.push(pending.trim());
    pending = "";
  }
  if (pending.trim() !== "") lines.push(pending.trim());
  return lines;
}

/** The environment a stage's steps set (ENV), in order. */
export function stageEnv(stage: Stage): Record<string, string> {
  return Object.fromEntries(stage.steps.flatMap((s) => (s.kind === "env" ? [[s.name, s.value]] : [])));
}

/** The last step of a kind in a stage, if any. */
export function lastStep<K extends Step["kind"]>(stage: Stage, kind: K): Extract<Step, { kind: K }> | undefined {
  return stage.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind).at(-1);
}
