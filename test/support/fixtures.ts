import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { SdpType } from "../../gen/signaling/v1/signaling_pb.js";

export const offerSdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
export const answerSdp = "v=0\r\no=- 1234567890 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";

export const offer = { type: SdpType.OFFER, sdp: offerSdp };
export const answer = { type: SdpType.ANSWER, sdp: answerSdp };

/** A browser-shaped host candidate; `n` makes it distinct. */
export function candidate(n: number, sdpMid = "0") {
  return {
    candidate: `candidate:${n} 1 udp 2122260223 127.0.0.1 ${50000 + n} typ host generation 0`,
    sdpMid,
    sdpMLineIndex: 0,
    usernameFragment: "abcd",
  };
}

/** Asserts that `call` fails with `code` and returns the error for further checks. */
export async function expectCode(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(error, `expected ${Code[code]}, but the call succeeded`).toBeDefined();
  expect(Code[error!.code], error!.message).toBe(Code[code]);
  return error!;
}

/** The status code a call ends with, or "ok". */
export async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

/** Collects the messages of a stream until `count` arrived, then stops reading. */
export async function take<T>(stream: AsyncIterable<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  if (count === 0) return out;
  for await (const message of stream) {
    out.push(message);
    if (out.length >= count) break;
  }
  return out;
}
