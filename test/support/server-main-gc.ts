// The server program as users run it, plus one thing for memory tests: SIGUSR2 runs a full
// garbage collection (the process is started with --expose-gc) and writes one log line with
// process.memoryUsage() after it, so what the server holds can be compared over time.
process.on("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(JSON.stringify({ level: "info", msg: "memory after gc", ...process.memoryUsage() }) + "\n");
});
await import("../../src/server/cli.js");
