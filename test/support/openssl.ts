import { execFileSync } from "node:child_process";
import { requireTool } from "./tools.js";

/** base64(HMAC-SHA1(key, data)) as the openssl command line computes it, independently of our code. */
export function opensslHmacSha1Base64(key: string, data: string): string {
  if (!requireTool("openssl", "apt-get install openssl")) throw new Error("openssl is needed to check HMACs independently");
  const mac = execFileSync("openssl", ["dgst", "-sha1", "-hmac", key, "-binary"], { input: data });
  return mac.toString("base64");
}
