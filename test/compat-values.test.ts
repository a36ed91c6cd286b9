import type { JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { defaultConfig } from "../src/server/config.js";
import {
  candidateFromStore,
  candidateToStore,
  descriptionFromStore,
  descriptionToStore,
} from "../src/service/compat/compat-values.js";
import { sampleCandidate, sampleSdp } from "./support/sdp-samples.js";

const limits = defaultConfig().limits;

// Values deployed clients send: descriptions and candidates as objects, as
// JSON strings, as raw strings, and odd shapes.
const values: JsonValue[] = [
  "plain string",
  "",
  JSON.stringify({ type: "offer", sdp: sampleSdp("offer", "OfFr") }),
  sampleSdp("offer", "OfFr"),
  0,
  -1.5e-7,
  true,
  null,
  [],
  [1, "two", { three: [null] }],
  {},
  { type: "offer", sdp: sampleSdp("offer", "OfFr") },
  { type: "answer", sdp: sampleSdp("answer", "AnSw") },
  { type: "offer", sdp: "" },
  { type: "offer", sdp: '{"looks":"like json"}' },
  { type: "offer", sdp: "v=0", extra: true },
  { sdp: "v=0" },
  sampleCandidate("OfFr", 1),
  { ...sampleCandidate("OfFr", 1), usernameFragment: null },
  { ...sampleCandidate("OfFr", 1), sdpMid: null },
  { ...sampleCandidate("OfFr", 1), sdpMid: null, sdpMLineIndex: null },
  { ...sampleCandidate("OfFr", 1), sdpMLineIndex: -1 },
  { ...sampleCandidate("OfFr", 1), candidate: "" },
  { candidate: sampleCandidate("OfFr", 1).candidate, sdpMid: "0", sdpMLineIndex: 0 },
  { candidate: "7", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null },
  { "é": "ü\u2028", nested: { deeper: [{ a: 1 }] } },
];

describe("compat values round-trip through the store", () => {
  it.each(values.map((v) => [JSON.stringify(v).slice(0, 60), v] as const))("description %s", (_name, value) => {
    for (const kind of ["offer", "answer"] as const) {
      expect(descriptionFromStore(kind, descriptionToStore(kind, value, limits))).toEqual(value);
    }
  });

  it.each(values.map((v) => [JSON.stringify(v).slice(0, 60), v] as const))("candidate %s", (_name, value) => {
    expect(candidateFromStore(candidateToStore(value, limits))).toEqual(value);
  });
});

describe("what SignalingService sees", () => {
  it("stores an RTCSessionDescriptionInit of the right type as its SDP text, any other value as JSON text", () => {
    const sdp = sampleSdp("offer", "OfFr");
    expect(descriptionToStore("offer", { sdp, type: "offer" }, limits)).toBe(sdp);
    expect(descriptionToStore("answer", { sdp, type: "offer" }, limits)).toBe(JSON.stringify({ sdp, type: "offer" }));
    expect(descriptionToStore("offer", sdp, limits)).toBe(JSON.stringify(sdp));
  });

  it("stores a candidate in toJSON() form field by field, any other value as JSON text without sdpMid or sdpMLineIndex", () => {
    const c = { ...sampleCandidate("OfFr", 1), usernameFragment: null };
    expect(candidateToStore(c, limits)).toEqual({ candidate: c.candidate, sdpMid: "0", sdpMLineIndex: 0 });
    expect(candidateToStore({ candidate: c.candidate, sdpMid: "0" }, limits)).toEqual({
      candidate: JSON.stringify({ candidate: c.candidate, sdpMid: "0" }),
    });
  });
});
