import { Code, ConnectError } from "@connectrpc/connect";
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { IceCandidate, SessionDescription } from "../../gen/signaling/v1/signaling_pb.js";
import { SdpType, Side as ProtoSide } from "../../gen/signaling/v1/signaling_pb.js";
import type { Side, StoredCandidate } from "../store/channel.js";
import { invalidArgument } from "./errors.js";
import type { SignalingLimits } from "./limits.js";

// The form of the ids newChannelId issues: a lowercase version 4 UUID.
const channelIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The form of the tokens newToken issues: 32 bytes in base64url.
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

/** Whether `id` has the form of the ids this service issues (channel ids, session ids). */
export function isIssuedId(id: string): boolean {
  return channelIdPattern.test(id);
}

/** Whether `token` has the form of the tokens this service issues. */
export function isIssuedToken(token: string): boolean {
  return tokenPattern.test(token);
}

export function validChannelId(channelId: string): string {
  if (channelId === "") throw invalidArgument("channel_id", "is required");
  if (!isIssuedId(channelId)) {
    throw invalidArgument("channel_id", "must be a channel id as returned by CreateChannel (a lowercase UUID)");
  }
  return channelId;
}

/** UNAUTHENTICATED without a token; PERMISSION_DENIED for one that cannot be ours. */
export function presentedToken(token: string, channelId: string): string {
  if (token === "") {
    throw new ConnectError(
      "token is required: pass the offerer_token from CreateChannel or the answerer_token from SetAnswer",
      Code.Unauthenticated,
    );
  }
  if (!isIssuedToken(token)) throw permissionDenied(channelId);
  return token;
}

export function permissionDenied(channelId: string, detail = "the token does not belong to this channel"): ConnectError {
  return new ConnectError(`channel ${channelId}: ${detail}`, Code.PermissionDenied);
}

export function validDescription(
  field: string,
  description: SessionDescription | undefined,
  expectedType: SdpType,
  limits: SignalingLimits,
): string {
  if (!description) throw invalidArgument(field, "is required");
  if (description.type !== expectedType) {
    throw invalidArgument(`${field}.type`, `must be ${SdpType[expectedType]}, got ${SdpType[description.type] ?? description.type}`);
  }
  if (description.sdp.trim() === "") throw invalidArgument(`${field}.sdp`, "must not be empty");
  checkSize(`${field}.sdp`, description.sdp, limits.maxSdpBytes, "max-sdp-bytes");
  return description.sdp;
}

/** `field` names the candidate in error messages: `candidate`, or `candidates[i]` in a batch. */
export function validCandidate(candidate: IceCandidate, limits: SignalingLimits, field = "candidate"): StoredCandidate {
  if (candidate.candidate === "") {
    throw invalidArgument(`${field}.candidate`, "must not be empty; send end_of_candidates to signal the end of gathering");
  }
  if (candidate.sdpMid === undefined && candidate.sdpMLineIndex === undefined) {
    throw invalidArgument(field, "needs sdp_mid or sdp_m_line_index, as RTCIceCandidate does");
  }
  const text = candidate.candidate + (candidate.sdpMid ?? "") + (candidate.usernameFragment ?? "");
  checkSize(field, text, limits.maxCandidateBytes, "max-candidate-bytes");
  return {
    candidate: candidate.candidate,
    ...(candidate.sdpMid !== undefined && { sdpMid: candidate.sdpMid }),
    ...(candidate.sdpMLineIndex !== undefined && { sdpMLineIndex: candidate.sdpMLineIndex }),
    ...(candidate.usernameFragment !== undefined && { usernameFragment: candidate.usernameFragment }),
  };
}

export function validSide(side: ProtoSide): Side {
  switch (side) {
    case ProtoSide.OFFERER:
      return "offerer";
    case ProtoSide.ANSWERER:
      return "answerer";
    default:
      throw invalidArgument("side", "must be SIDE_OFFERER or SIDE_ANSWERER");
  }
}

/** The channel's time to live: the default when unset, clamped to the configured range. */
export function validTtlMs(ttl: Duration | undefined, limits: SignalingLimits): number {
  if (!ttl) return limits.defaultTtlMs;
  const ms = Number(ttl.seconds) * 1000 + ttl.nanos / 1e6;
  if (ms < 0 || ttl.nanos < 0) throw invalidArgument("ttl", "must not be negative");
  if (ms === 0) return limits.defaultTtlMs;
  return Math.min(limits.maxTtlMs, Math.max(limits.minTtlMs, Math.round(ms)));
}

/** INVALID_ARGUMENT naming `field` and `setting` when `text` is over `maxBytes` UTF-8 bytes. */
export function checkSize(field: string, text: string, maxBytes: number, setting: string): void {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) throw invalidArgument(field, `is ${bytes} bytes; at most ${maxBytes} are accepted (${setting})`);
}
