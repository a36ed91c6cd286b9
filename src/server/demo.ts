import { existsSync } from "node:fs";
import type * as http from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RequestHandler } from "./listener.js";
import { pathOf } from "../lib/url-path.js";

type Request = Parameters<RequestHandler>[0];
type Response = Parameters<RequestHandler>[1];

/** The files `npm run build:demo` writes, by the path they are served at. */
const files: Readonly<Record<string, { name: string; type: string }>> = {
  "/demo": { name: "index.html", type: "text/html; charset=utf-8" },
  "/demo/": { name: "index.html", type: "text/html; charset=utf-8" },
  "/demo/demo.js": { name: "demo.js", type: "text/javascript; charset=utf-8" },
  "/demo/demo.js.map": { name: "demo.js.map", type: "application/json" },
};

/**
 * The page may call its own origin, or (?api=...) exactly the origins the operator allowed
 * (--demo-api-origins): a link cannot point it at someone else's server to collect its SDP and candidates.
 */
function contentSecurityPolicy(apiOrigins: readonly string[]): string {
  const connect = ["'self'", ...apiOrigins].join(" ");
  return `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src ${connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** The name of the meta element that tells the page which other API origins it may use. */
export const apiOriginsMeta = "switchboard-api-origins";

/** Where `npm run build:demo` puts the bundle: dist/demo in the package root. */
export function defaultDemoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the package root above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return join(dir, "dist", "demo");
}

/**
 * Serves the browser demo's files from `dir` at /demo. Returns whether the
 * request was the demo's; any other path is left to the caller.
 */
export function demoRoute(dir: string, apiOrigins: readonly string[] = []): (req: Request, res: Response) => boolean {
  const policy = contentSecurityPolicy(apiOrigins);
  // Origins are checked at start (parseOrigins): no quote or angle bracket can be in them.
  const meta = `<meta name="${apiOriginsMeta}" content="${apiOrigins.join(" ")}">`;
  return (req, res) => {
    // Every other request (each RPC) stops at this prefix test: a keyed lookup of its whole path cost more.
    if (req.url?.startsWith("/demo") !== true) return false;
    const path = pathOf(req.url);
    const file = files[path];
    if (!file) return false;
    const r = res as http.ServerResponse;
    if (req.method !== "GET" && req.method !== "HEAD") {
      r.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      r.end("the demo is read with GET\n");
      return true;
    }
    readFile(join(dir, file.name)).then(
      (read) => {
        const body = file.name === "index.html" ? Buffer.from(read.toString("utf8").replace(/<head>/i, (head) => `${head}\n${meta}`)) : read;
        r.writeHead(200, {
          "content-type": file.type,
          "content-length": body.length,
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
          "content-security-policy": policy,
        });
        r.end(req.method === "HEAD" ? undefined : body);
      },
      () => {
        r.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        r.end("the demo is not built: run `npm run build` (or `npm run build:demo`), then reload\n");
      },
    );
    return true;
  };
}
