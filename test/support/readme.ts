import { readFileSync } from "node:fs";

/** The text of a documentation file, by its path from the repository root (e.g. "docs/api.md"). */
export function docText(path: string): string {
  return readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
}

/** The fenced block between `<!-- marker:start -->` and `<!-- marker:end -->` in a documentation file. */
export function fencedBlock(marker: string, path: string): string {
  const section = docText(path).split(`<!-- ${marker}:start -->`)[1]?.split(`<!-- ${marker}:end -->`)[0];
  const body = section?.match(/```\w*\n([\s\S]*?)```/)?.[1];
  if (body === undefined) throw new Error(`${path} has no fenced block between the ${marker} markers`);
  return body;
}
