import type { DescField, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { create, ScalarType, toBinary, toJsonString } from "@bufbuild/protobuf";
import fc from "fast-check";
import { IceService } from "../../gen/signaling/v1/ice_pb.js";
import { RoomService } from "../../gen/signaling/v1/room_pb.js";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import type { RawRequest, WireCodec, WireProtocol } from "./raw-rpc.js";
import { contentTypeOf, envelope, protocolHeaders } from "./raw-rpc.js";

/*
 * fast-check arbitraries for requests no well-behaved client sends: random
 * and mutated messages of every RPC, in every protocol and codec, framed
 * wrongly, labelled wrongly, full of NUL, lone surrogates, invalid UTF-8,
 * huge numbers, __proto__ keys and deep nesting.
 */

export const fuzzedServices: readonly DescService[] = [SignalingService, RoomService, IceService];
export const fuzzedMethods: readonly DescMethod[] = fuzzedServices.flatMap((s) => s.methods);

const strangeStrings = [
  "", "\u0000", "a\u0000b", "\ud800", "x\udfffy", "00000000-0000-4000-8000-000000000000", "A".repeat(43),
  "../../etc/passwd", "__proto__", "constructor", "%00", "%E0%A4%A", "\r\n\r\n", "💥".repeat(50), "x".repeat(70_000),
];

const stringArb = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.constantFrom(...strangeStrings), fc.uuid());

function scalarArb(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return stringArb;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.nat({ max: 20 }), fc.constant(0xffffffff), fc.nat());
    default:
      return fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1));
  }
}

function fieldValueArb(field: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return scalarArb(field.scalar);
    case "enum":
      return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), fc.integer({ min: -5, max: 1000 }));
    case "message":
      return depth < 3 ? initArb(field.message, depth + 1) : undefined;
    case "list":
      if (field.listKind === "scalar") return fc.array(scalarArb(field.scalar), { maxLength: 4 });
      if (field.listKind === "enum") return fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 4 });
      return depth < 3 ? fc.array(initArb(field.message, depth + 1), { maxLength: 4 }) : undefined;
    case "map":
      return undefined;
  }
}

/** A random init object for `desc`: every field maybe set, oneofs to one random case. */
function initArb(desc: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of desc.fields) {
    if (field.oneof) continue;
    const arb = fieldValueArb(field, depth);
    if (arb) parts[field.localName] = fc.option(arb, { nil: undefined, freq: 2 });
  }
  for (const oneof of desc.oneofs) {
    const cases = oneof.fields.flatMap((f) => {
      const arb = fieldValueArb(f, depth);
      return arb ? [arb.map((value) => ({ case: f.localName, value }))] : [];
    });
    if (cases.length > 0) parts[oneof.localName] = fc.option(fc.oneof(...cases), { nil: undefined });
  }
  return fc.record(parts).map((init) => Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)));
}

/** A well-typed random message of `desc`, encoded in the codec; undefined when it cannot be encoded. */
export function messageBytesArb(desc: DescMessage, codec: WireCodec): fc.Arbitrary<Uint8Array> {
  return initArb(desc).map((init) => {
    try {
      const message = create(desc, init as never);
      return codec === "proto" ? toBinary(desc, message) : new TextEncoder().encode(toJsonString(desc, message));
    } catch {
      return new Uint8Array();
    }
  });
}

const encoder = new TextEncoder();

/** JSON text that a JSON decoder might choke on, with the method's field names so it gets past the first key. */
function hostileJsonArb(desc: DescMessage): fc.Arbitrary<Uint8Array> {
  const names = desc.fields.map((f) => f.jsonName);
  const key = fc.oneof(fc.constantFrom(...names, "__proto__", "constructor", "prototype"), fc.string({ maxLength: 8 }));
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom("1e400", "-1e400", "18446744073709551616", "-9223372036854775809", "0.5", "NaN", '"Infinity"', "1e-400", '"\\u0000"', '"\\ud800"', '"\\udc00x"'),
    fc.integer({ min: 5, max: 4000 }).map((d) => "[".repeat(d) + "]".repeat(d)),
    fc.integer({ min: 5, max: 4000 }).map((d) => '{"a":'.repeat(d) + "1" + "}".repeat(d)),
  );
  const jsonText = fc.oneof(
    fc.array(fc.tuple(key, value), { maxLength: 5 }).map((pairs) =>
      `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${typeof v === "string" ? v : JSON.stringify(v)}`).join(",")}}`,
    ),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null"),
    fc.constantFrom("", "{", "}", "[]", "null", '"x"', "{}}", '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}'),
  );
  return jsonText.map((text) => encoder.encode(text));
}

/** Byte-level damage: flips, cuts, insertions, invalid UTF-8. */
function mutate(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(bytes, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.constantFrom("flip", "cut", "insert", "utf8")), { minLength: 1, maxLength: 4 })).map(
    ([input, edits]) => {
      let out = Array.from(input);
      for (const [at, byte, kind] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        if (kind === "flip" && out.length > 0) out[i] = byte;
        else if (kind === "cut") out = out.slice(0, i);
        else if (kind === "insert") out.splice(i, 0, byte);
        else out.splice(i, 0, 0xc3, 0x28, 0xff, 0xfe); // invalid UTF-8
      }
      return Uint8Array.from(out);
    },
  );
}

/** A message body (unframed) for `method` in `codec`: random, hostile or damaged. */
export function payloadArb(method: DescMethod, codec: WireCodec): fc.Arbitrary<Uint8Array> {
  const typed = messageBytesArb(method.input, codec);
  return fc.oneof(
    { arbitrary: typed, weight: 2 },
    { arbitrary: mutate(typed), weight: 3 },
    { arbitrary: fc.uint8Array({ maxLength: 200 }), weight: 1 },
    { arbitrary: codec === "json" ? hostileJsonArb(method.input) : mutate(fc.uint8Array({ maxLength: 64 })), weight: 3 },
  );
}

/** How the message is framed: honestly, or in one of the ways that lie. */
export type Framing = "envelope" | "truncated" | "lying-length" | "compressed-garbage" | "compressed-declared" | "two-messages" | "empty" | "odd-flags";

export interface FuzzCase {
  readonly method: DescMethod;
  readonly protocol: WireProtocol;
  readonly codec: WireCodec;
  readonly http: "h2" | "http1";
  readonly framing: Framing;
  readonly wrongContentType: string | undefined;
  readonly request: RawRequest;
}

const wrongContentTypes = [
  "", "text/plain", "application/x-www-form-urlencoded", "application/grpc+xml", "application/connect+thrift", "application/protobuf",
  "application/grpc-web-text", "multipart/form-data; boundary=x", "application/json; charset=latin1", "application/grpc; x=y", "application/grpc+proto+json",
];

function frame(payload: Uint8Array, framing: Framing, extra: number): Uint8Array {
  switch (framing) {
    case "envelope":
      return envelope(payload);
    case "truncated": {
      const whole = envelope(payload);
      return whole.subarray(0, extra % Math.max(1, whole.length));
    }
    case "lying-length":
      return envelope(payload, 0, [payload.length + 1 + (extra % 100), Math.max(0, payload.length - 1 - (extra % 10)), 0xffffffff, 0x7fffffff][extra % 4]!);
    case "compressed-garbage":
    case "compressed-declared":
      return envelope(payload, 1);
    case "two-messages":
      return Uint8Array.from([...envelope(payload), ...envelope(payload)]);
    case "empty":
      return new Uint8Array();
    case "odd-flags":
      return envelope(payload, [0x02, 0x80, 0xff, 0x7e][extra % 4]!);
  }
}

/** A whole request: any RPC of the three services, any protocol, codec and HTTP version, any damage. */
export const fuzzCaseArb: fc.Arbitrary<FuzzCase> = fc
  .record({
    method: fc.constantFrom(...fuzzedMethods),
    protocol: fc.constantFrom<WireProtocol>("connect", "grpc", "grpc-web"),
    codec: fc.constantFrom<WireCodec>("proto", "json"),
    http: fc.constantFrom<"h2" | "http1">("h2", "h2", "http1"),
    framing: fc.constantFrom<Framing>("envelope", "envelope", "envelope", "truncated", "lying-length", "compressed-garbage", "compressed-declared", "two-messages", "empty", "odd-flags"),
    // One request in eight carries a content type the route does not serve.
    wrongContentType: fc.oneof(
      { arbitrary: fc.constant<string | undefined>(undefined), weight: 7 },
      { arbitrary: fc.constantFrom<string | undefined>(...wrongContentTypes), weight: 1 },
    ),
    extra: fc.nat(),
    seed: fc.nat(),
  })
  .chain((c) => payloadArb(c.method, c.codec).map((payload) => ({ ...c, payload })))
  .map(({ method, protocol: base, codec, http, framing, wrongContentType, extra, payload }) => {
    const streaming = method.methodKind === "server_streaming";
    // Connect frames only streaming calls; a unary Connect request is the bare message.
    const protocol: WireProtocol = base === "connect" && streaming ? "connect-stream" : base;
    const enveloped = protocol !== "connect";
    const body = enveloped ? frame(payload, framing, extra) : framing === "truncated" ? payload.subarray(0, extra % Math.max(1, payload.length)) : payload;
    const headers: Record<string, string> = { ...protocolHeaders(protocol) };
    if (framing === "compressed-declared") {
      headers[protocol === "connect-stream" ? "connect-content-encoding" : protocol === "connect" ? "content-encoding" : "grpc-encoding"] = "gzip";
    }
    const request: RawRequest = {
      path: `/${method.parent.typeName}/${method.name}`,
      contentType: wrongContentType ?? contentTypeOf(protocol, codec),
      headers,
      body,
    };
    return { method, protocol, codec, http, framing: enveloped ? framing : framing === "truncated" ? "truncated" : "envelope", wrongContentType, request };
  });

/** Compat endpoint bodies: the method names it knows, wrong shapes, hostile JSON, bytes that are no JSON at all. */
export const compatBodyArb: fc.Arbitrary<{ contentType: string; body: Uint8Array }> = fc.record({
  contentType: fc.oneof({ arbitrary: fc.constant("application/json"), weight: 6 }, { arbitrary: fc.constantFrom(...wrongContentTypes), weight: 1 }),
  body: fc.oneof(
    fc
      .record({
        method: fc.oneof(
          fc.constantFrom("create_data_channel", "create_offer", "get_offer", "create_answer", "get_answer", "create_candidate", "get_candidates"),
          fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", ""),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        channel_id: fc.oneof(fc.uuid(), stringArb, fc.jsonValue({ maxDepth: 2 })),
        offer: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ type: fc.constantFrom("offer", "answer", "x"), sdp: stringArb })),
        answer: fc.jsonValue({ maxDepth: 3 }),
        candidate: fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record({ candidate: stringArb, sdpMid: fc.option(stringArb), sdpMLineIndex: fc.option(fc.oneof(fc.integer(), fc.double())), usernameFragment: fc.option(stringArb) }),
        ),
      }, { requiredKeys: ["method"] })
      .map((o) => encoder.encode(JSON.stringify(o))),
    fc.string({ unit: "binary" }).map((s) => encoder.encode(s)),
    mutate(fc.constant(encoder.encode('{"method":"create_offer","channel_id":"00000000-0000-4000-8000-000000000000","offer":{"type":"offer","sdp":"v=0"}}'))),
    fc.integer({ min: 10, max: 6000 }).map((d) => encoder.encode(`{"method":"create_offer","offer":${"[".repeat(d)}${"]".repeat(d)}}`)),
    fc.constantFrom('{"method":"get_offer","channel_id":1e400}', '{"__proto__":{"method":"create_data_channel"}}', '{"method":"create_data_channel","__proto__":null}').map((s) => encoder.encode(s)),
  ),
});
