import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { StructSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { IceCandidateSchema, SdpType, WatchChannelResponseSchema } from "../gen/signaling/v1/signaling_pb.js";
import { installPooledProtobufWriter } from "../src/server/pooled-protobuf-writer.js";

const sdp = `v=0\r\n${"a=candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host\r\n".repeat(40)}`;
const candidate = (i: number) => create(IceCandidateSchema, { candidate: `candidate:${i} 1 udp 2122260223 192.0.2.${i} 5440${i} typ host`, sdpMid: "0" });

/** Messages of every size class and of every writer path: strings (ASCII and not), varints, nested forks longer than 127 bytes, doubles. */
const samples: { schema: DescMessage; message: unknown }[] = [
  { schema: WatchChannelResponseSchema, message: create(WatchChannelResponseSchema, { version: 3 }) },
  {
    schema: WatchChannelResponseSchema,
    message: create(WatchChannelResponseSchema, {
      version: 7,
      event: {
        case: "snapshot",
        value: {
          channelId: "00000000-0000-4000-8000-000000000000",
          offer: { type: SdpType.OFFER, sdp },
          answer: { type: SdpType.ANSWER, sdp: `${sdp}é✓🙂` },
          offererCandidates: [0, 1, 2, 3].map(candidate),
          answererCandidates: [4, 5].map(candidate),
          createTime: timestampFromMs(1_700_000_000_123),
          version: 7,
        },
      },
    }),
  },
  {
    schema: StructSchema,
    message: create(StructSchema, {
      fields: { n: { kind: { case: "numberValue", value: -1.5e300 } }, s: { kind: { case: "stringValue", value: "x".repeat(5000) } } },
    }),
  },
];

describe("the pooled protobuf writer", () => {
  it("writes the bytes protobuf-es writes, and an earlier result keeps its bytes while later messages are written", () => {
    const shipped = samples.map(({ schema, message }) => Uint8Array.from(toBinary(schema, message as never)));
    installPooledProtobufWriter();
    const pooled = samples.map(({ schema, message }) => toBinary(schema, message as never));
    // Many more messages after them, reusing the pool.
    for (let i = 0; i < 2000; i++) toBinary(samples[i % samples.length]!.schema, samples[i % samples.length]!.message as never);
    for (let i = 0; i < samples.length; i++) {
      expect(Buffer.from(pooled[i]!).equals(Buffer.from(shipped[i]!))).toBe(true);
      expect(fromBinary(samples[i]!.schema, pooled[i]!)).toEqual(samples[i]!.message);
    }
  });

  it("is in effect once installed: a small message is a slice of Node's Buffer pool, not an ArrayBuffer of its own", () => {
    installPooledProtobufWriter();
    const bytes = toBinary(samples[0]!.schema, samples[0]!.message as never);
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect(bytes.buffer.byteLength).toBe(Buffer.poolSize);
  });
});
