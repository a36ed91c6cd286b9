import { execFileSync } from "node:child_process";

/** Whether an executable is on PATH. */
export function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Throws with the way to install it when a tool a test needs is missing. */
export function requireTool(name: string, install: string): void {
  if (!hasTool(name)) throw new Error(`${name} is not installed; run: ${install}`);
}

/**
 * For tests of a real external tool: true when it is there. Under CI=true a
 * missing tool is a failure (the thrown error names the provisioning
 * script); elsewhere the suite is skipped with a message saying how to run it.
 */
export function toolAvailable(names: readonly string[], install: string): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  const message = `${missing.join(", ")} not installed; run: ${install}`;
  if (process.env["CI"] === "true") throw new Error(`CI=true and ${message}`);
  console.warn(`skipping: ${message}`);
  return false;
}
