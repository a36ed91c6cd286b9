import type * as http from "node:http";
import type { RequestHandler } from "./listener.js";
import { pathOf } from "../lib/url-path.js";

type Request = Parameters<RequestHandler>[0];
type Response = Parameters<RequestHandler>[1];

export interface LandingOptions {
  /** Whether /demo is served. */
  readonly demo: boolean;
  /** Whether POST / is the compat JSON endpoint (its path is `/`), which the page then mentions. */
  readonly compatAtRoot: boolean;
}

/**
 * `GET /`: a short page for whoever opens the server's address, saying what answers on this port and
 * where to go next (the demo, the docs, grpcurl). HTML for browsers, plain text for everything else.
 * Returns false for any other request: other methods on `/` go where they went before (the compat
 * endpoint when its path is `/`, else the RPC router's 404).
 */
export function landingRoute(options: LandingOptions): (req: Request, res: Response) => boolean {
  return (req, res) => {
    if ((req.method !== "GET" && req.method !== "HEAD") || pathOf(req.url) !== "/") return false;
    const lines = landingLines(hostOf(req), options);
    const html = (req.headers["accept"] ?? "").includes("text/html");
    const body = html ? toHtml(lines) : lines.map((l) => l.text).join("\n") + "\n";
    (res as http.ServerResponse).writeHead(200, {
      "content-type": html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...(html && { "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" }),
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}

interface Line {
  readonly text: string;
  /** A path on this server the line links to. */
  readonly href?: string;
  readonly code?: boolean;
}

function landingLines(host: string, options: LandingOptions): Line[] {
  return [
    { text: "Switchboard: WebRTC signaling over Connect, gRPC and gRPC-Web on this port." },
    ...(options.demo ? [{ text: "Demo (two tabs, one chat over WebRTC): /demo", href: "/demo" }] : []),
    { text: "Health: /healthz", href: "/healthz" },
    { text: "Services and their documentation, by server reflection:" },
    { text: `grpcurl -plaintext ${host} list`, code: true },
    { text: `grpcurl -plaintext ${host} describe signaling.v1.SignalingService`, code: true },
    { text: "Connect JSON with curl:" },
    {
      text: `curl -X POST http://${host}/signaling.v1.SignalingService/CreateChannel -H 'content-type: application/json' -d '{}'`,
      code: true,
    },
    { text: "Guides and reference: README.md and docs/ (api.md, configuration.md) in the Switchboard source." },
    ...(options.compatAtRoot ? [{ text: "POST / with {\"method\": ...} is the single-endpoint JSON API (docs/api.md)." }] : []),
  ];
}

/** The Host header as given, if it looks like host[:port]; else a placeholder. Never echoed unescaped. */
function hostOf(req: Request): string {
  const header = req.headers[":authority"] ?? req.headers.host;
  const host = Array.isArray(header) ? header[0] : header;
  return host && /^[A-Za-z0-9.\-:[\]]{1,300}$/.test(host) ? host : "<host>:<port>";
}

function toHtml(lines: readonly Line[]): string {
  const items = lines
    .slice(1)
    .map((l) => {
      if (l.code) return `<pre>${escape(l.text)}</pre>`;
      if (l.href) return `<p><a href="${escape(l.href)}">${escape(l.text)}</a></p>`;
      return `<p>${escape(l.text)}</p>`;
    })
    .join("\n");
  return `<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>Switchboard</title>\n<h1>Switchboard</h1>\n<p>${escape(lines[0]!.text)}</p>\n${items}\n</html>\n`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
