import { existsSync } from "node:fs";
import type * as http from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RequestHandler } from "./listener.js";

type Request = Parameters<RequestHandler>[0];
type Response = Parameters<RequestHandler>[1];

/** The files `npm run build:demo` writes, by the path they are served at. */
const files: Readonly<Record<string, { name: string; type: string }>> = {
  "/demo": { name: "index.html", type: "text/html; charset=utf-8" },
  "/demo/": { name: "index.html", type: "text/html; charset=utf-8" },
  "/demo/demo.js": { name: "demo.js", type: "text/javascript; charset=utf-8" },
  "/demo/demo.js.map": { name: "demo.js.map", type: "application/json" },
};

// The page may call an API on another origin (?api=...), so connect-src stays open to http(s).
const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

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
export function demoRoute(dir: string): (req: Request, res: Response) => boolean {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const file = files[path];
    if (!file) return false;
    const r = res as http.ServerResponse;
    if (req.method !== "GET" && req.method !== "HEAD") {
      r.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      r.end("the demo is read with GET\n");
      return true;
    }
    readFile(join(dir, file.name)).then(
      (body) => {
        r.writeHead(200, {
          "content-type": file.type,
          "content-length": body.length,
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
          "content-security-policy": contentSecurityPolicy,
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
