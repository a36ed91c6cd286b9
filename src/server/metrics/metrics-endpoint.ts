import * as http from "node:http";
import type * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ServerMetrics } from "./server-metrics.js";
import { pathOf } from "../../lib/url-path.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** Whether the request is a scrape: GET (or HEAD) /metrics, with or without a query. */
export function isScrape(req: Request): boolean {
  return (req.method === "GET" || req.method === "HEAD") && pathOf(req.url) === "/metrics";
}

/** Answers a scrape with the registry's text; 500 with a one-line reason if collecting fails. */
export function serveScrape(metrics: ServerMetrics, req: Request, res: Response): void {
  metrics.scrape().then(
    ({ body, contentType }) => {
      (res as http.ServerResponse).writeHead(200, { "content-type": contentType });
      res.end(req.method === "HEAD" ? "" : body);
    },
    (error: unknown) => {
      (res as http.ServerResponse).writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`collecting metrics failed: ${String(error)}\n`);
    },
  );
}

/** The admin listener of --metrics-port: /metrics only, everything else 404. */
export class MetricsListener {
  private readonly server: http.Server;

  constructor(metrics: ServerMetrics) {
    this.server = http.createServer((req, res) => {
      if (isScrape(req)) return serveScrape(metrics, req, res);
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("this port serves only GET /metrics\n");
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
