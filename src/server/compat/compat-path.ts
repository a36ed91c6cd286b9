/**
 * The compat endpoint's path: absolute, no query or fragment, and clear of
 * the routes the server already serves (/healthz and every RPC path, whose
 * first segment is a dotted service name).
 */
export function parseCompatPath(text: string): string {
  if (!text.startsWith("/") || /[\s?#]/.test(text)) {
    throw new Error("must be an absolute path such as / or /signal, without query or fragment");
  }
  if (text === "/healthz") throw new Error("/healthz is the health check");
  if (text.split("/")[1]?.includes(".")) throw new Error("a first path segment with a dot would shadow RPC routes");
  return text;
}
