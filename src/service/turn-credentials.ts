import { createHmac, randomBytes } from "node:crypto";

export interface TurnCredential {
  readonly username: string;
  readonly credential: string;
}

/**
 * A TURN REST API credential (draft-uberti-behave-turn-rest, coturn's
 * use-auth-secret): username "<expiry unix seconds>:<id>", credential
 * base64(HMAC-SHA1(secret, username)). The TURN server recomputes the HMAC
 * with the same secret and refuses the username once its time has passed.
 */
export function turnRestCredential(secret: string, expiryUnixSeconds: number, id: string): TurnCredential {
  if (id.includes(":")) throw new Error("a TURN REST credential id must not contain ':'");
  const username = `${expiryUnixSeconds}:${id}`;
  const credential = createHmac("sha1", secret).update(username, "utf8").digest("base64");
  return { username, credential };
}

/** A random id for a credential's username: 72 bits, base64url (no ':'). */
export function newCredentialId(): string {
  return randomBytes(9).toString("base64url");
}
