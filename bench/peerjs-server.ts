/**
 * The PeerJS server as its library starts it (the `peerjs` command does the
 * same and also logs every connection to stdout, which would tax it unfairly).
 * Usage: node peerjs-server.js <port>
 */
import { PeerServer } from "peer";

const port = Number(process.argv[2]);
PeerServer({ host: "127.0.0.1", port, path: "/", key: "peerjs", concurrent_limit: 1_000_000, alive_timeout: 600_000 }, () => {
  process.stdout.write(`listening on ${port}\n`);
});
process.once("SIGTERM", () => process.exit(0));
