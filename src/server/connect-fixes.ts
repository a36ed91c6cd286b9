import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { compressionGzip } from "@connectrpc/connect-node";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import { StartupError } from "./startup-error.js";

/**
 * The fixes in patches/ to Connect's protocol modules (docs/security.md, "Where this is fixed"). `npm ci`
 * applies them in a clone; the packed package ships its Connect modules with them applied
 * (bundleDependencies). Each check asks the loaded module itself, so a copy installed some other way
 * (`--ignore-scripts`, a hoisted duplicate) is caught too.
 */
const fixes: readonly { readonly name: string; readonly holds: () => Promise<boolean> }[] = [
  {
    name: "a gRPC status message quoting a lone surrogate is sent (protocol-grpc/trailer-status.js)",
    holds: async () => {
      try {
        setTrailerStatus(new Headers(), new ConnectError("\ud800", Code.InvalidArgument));
        return true;
      } catch {
        return false;
      }
    },
  },
  {
    name: "undecodable protobuf is INVALID_ARGUMENT (protocol/serialization.js)",
    holds: async () => codeOf(async () => binaryRequestParser().parse(new Uint8Array([0xff]))).then((code) => code === Code.InvalidArgument),
  },
  {
    name: "truncated gzip is INVALID_ARGUMENT (connect-node compression.js)",
    holds: async () => codeOf(() => compressionGzip.decompress(gzipSync(Buffer.alloc(64)).subarray(0, 12), 1024)).then((code) => code === Code.InvalidArgument),
  },
];

function binaryRequestParser() {
  const limits = { readMaxBytes: 1024, writeMaxBytes: 1024 };
  return createMethodSerializationLookup(SignalingService.method.createChannel, undefined, undefined, limits).getI(true);
}

async function codeOf(attempt: () => Promise<unknown>): Promise<Code | undefined> {
  try {
    await attempt();
    return undefined;
  } catch (error) {
    return error instanceof ConnectError ? error.code : undefined;
  }
}

/** The fixes the loaded Connect modules lack (none when installed as documented). */
export async function missingConnectFixes(): Promise<string[]> {
  const missing: string[] = [];
  for (const fix of fixes) if (!(await fix.holds())) missing.push(fix.name);
  return missing;
}

/** Refuses to start a server whose Connect modules would hang on, or answer INTERNAL to, bad requests. */
export async function assertConnectFixes(): Promise<void> {
  const missing = await missingConnectFixes();
  if (missing.length > 0) {
    throw new StartupError(
      `the installed @connectrpc modules lack Switchboard's fixes (${missing.join("; ")}); ` +
        "reinstall without --ignore-scripts (`npm ci` applies patches/), or install the packed package, which ships them applied",
    );
  }
}
