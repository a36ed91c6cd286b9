#!/usr/bin/env bash
# `npm run test:mongodb`: every MongoDB store suite (channel and room store contracts, the cluster
# suites, the change-stream feed) against the real MongoDB that MONGODB_URI names, instead of the
# FerretDB the suites otherwise start. Use a replica set so the change-stream path runs: see
# docs/mongodb.md for a local three-member one. Each suite works in a database of its own and drops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"
if [[ -z "${MONGODB_URI:-}" ]]; then
  echo "test:mongodb: set MONGODB_URI to a MongoDB replica set, e.g." >&2
  echo "  MONGODB_URI='mongodb://127.0.0.1:27017,127.0.0.1:27018,127.0.0.1:27019/?replicaSet=rs0' npm run test:mongodb" >&2
  echo "(docs/mongodb.md starts one locally)" >&2
  exit 2
fi
# Say what the URI names, so a run against a standalone server (no change streams) is not mistaken for one
# against a replica set. Fails here, before any suite, when the server cannot be reached.
node --input-type=module -e '
  import { MongoClient } from "mongodb";
  const client = new MongoClient(process.env.MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
  try {
    const hello = await client.db("admin").command({ hello: 1 });
    const info = await client.db("admin").command({ buildInfo: 1 });
    const kind = hello.setName ? `replica set ${hello.setName} (${hello.hosts?.length ?? "?"} members): change streams` : hello.msg === "isdbgrid" ? "sharded cluster: change streams" : "standalone server: NO change streams, the suites poll";
    console.log(`test:mongodb against ${info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion}` : `MongoDB ${info.version}`}, ${kind}`);
    if (process.env.MONGODB_REQUIRE_REPLICA_SET === "true" && !hello.setName && hello.msg !== "isdbgrid") process.exit(3);
  } finally {
    await client.close();
  }
'
exec npx vitest run test/mongo-*.test.ts test/change-stream-feed.test.ts test/poll-filter.test.ts "$@"
