// Writes the settings table of docs/configuration.md (between its config-table markers) from the
// settings in src/server/config.ts: `npm run docs:config`. With --stdout it prints the table instead.
import { readFileSync, writeFileSync } from "node:fs";
import { configTable } from "../src/server/config.js";
import { configTableFile, withConfigTable } from "./lib/config-table-file.js";

if (process.argv.includes("--stdout")) {
  process.stdout.write(configTable());
} else {
  const path = new URL(`../${configTableFile}`, import.meta.url);
  const before = readFileSync(path, "utf8");
  const after = withConfigTable(before, configTable());
  if (after !== before) writeFileSync(path, after);
  process.stdout.write(`${configTableFile}: settings table ${after === before ? "already up to date" : "regenerated"}\n`);
}
