// The container health check (Dockerfile HEALTHCHECK, deploy/compose.yaml): GET /healthz on the port
// and address the server's own settings name (SWITCHBOARD_PORT, SWITCHBOARD_HOST), so it follows them.
// Exit 0 when the server answers 200 (serving), 1 otherwise. Flags given here are read too.
import { loadConfig } from "./config.js";
import { listenAddress } from "./listen-address.js";

const timeoutMs = 2500;

try {
  const result = loadConfig(process.argv.slice(2), process.env);
  if (result.help) {
    process.stdout.write("Usage: node dist/src/server/healthcheck.js: exit 0 when /healthz answers 200\n");
    process.exit(0);
  }
  const { url } = listenAddress(result.config.host, result.config.port);
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
  process.stdout.write(`${res.status} ${await res.text()}\n`);
  process.exit(res.status === 200 ? 0 : 1);
} catch (error) {
  process.stdout.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
