import { readFileSync } from "node:fs";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The fenced block between `<!-- marker:start -->` and `<!-- marker:end -->` in README.md. */
export function fencedBlock(marker: string): string {
  const section = readme.split(`<!-- ${marker}:start -->`)[1]?.split(`<!-- ${marker}:end -->`)[0];
  const body = section?.match(/```\w*\n([\s\S]*?)```/)?.[1];
  if (body === undefined) throw new Error(`README.md has no fenced block between the ${marker} markers`);
  return body;
}
