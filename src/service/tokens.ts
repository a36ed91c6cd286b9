import { hash, randomFillSync, randomUUID, timingSafeEqual } from "node:crypto";
import type { ChannelState, Side } from "../store/channel.js";

/** A random (version 4) UUID: 122 random bits, URL-safe. */
export function newChannelId(): string {
  return randomUUID();
}

/** A room member's session id: a random (version 4) UUID, like a channel id. */
export const newSessionId = newChannelId;

const tokenBytes = 32;
// CSPRNG bytes drawn 128 tokens at a time (one randomFillSync instead of one per token, as
// randomUUID caches its entropy); every byte is used for one token only.
const pool = Buffer.alloc(tokenBytes * 128);
let poolOffset = pool.length;

/** 256 random bits, base64url. */
export function newToken(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const token = pool.toString("base64url", poolOffset, poolOffset + tokenBytes);
  pool.fill(0, poolOffset, poolOffset + tokenBytes);
  poolOffset += tokenBytes;
  return token;
}

/** Tokens are stored only as this hash. (crypto.hash: one call, no Hash object per token.) */
export function hashToken(token: string): string {
  return hash("sha256", token, "base64url");
}

/** The side whose token this is, compared in constant time; undefined for a stranger. */
export function sideOfToken(state: ChannelState, token: string): Side | undefined {
  const presented = hashBytes(token);
  // Both hashes are always compared, so the timing says nothing about which side matched.
  const offerer = hashesEqual(presented, state.offererTokenHash);
  const answerer = state.answererTokenHash !== undefined && hashesEqual(presented, state.answererTokenHash);
  if (offerer) return "offerer";
  if (answerer) return "answerer";
  return undefined;
}

/** Whether `token` hashes to `storedHash`, compared in constant time. */
export function tokenMatches(token: string, storedHash: string): boolean {
  return hashesEqual(hashBytes(token), storedHash);
}

/**
 * The token's hash as bytes, to compare with a stored one. Hashed to base64url and decoded: crypto.hash's
 * "buffer" output took about twice as long as that (Node 24).
 */
function hashBytes(token: string): Buffer {
  return Buffer.from(hashToken(token), "base64url");
}

function hashesEqual(presented: Buffer, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, "base64url");
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
