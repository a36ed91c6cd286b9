import { execFileSync } from "node:child_process";

/**
 * Whether an external tool a test needs is installed. In CI (CI=true) a
 * missing tool is an error, so the run fails instead of skipping the test.
 */
export function requireTool(command: string, installHint: string): boolean {
  let found = false;
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    found = true;
  } catch {
    found = false;
  }
  if (!found && process.env["CI"] === "true") {
    throw new Error(`${command} is required in CI but is not installed: ${installHint}`);
  }
  if (!found) console.warn(`skipping: ${command} is not installed (${installHint})`);
  return found;
}
