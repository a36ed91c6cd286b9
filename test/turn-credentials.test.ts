import { describe, expect, it } from "vitest";
import { newCredentialId, turnRestCredential } from "../src/service/turn-credentials.js";
import { opensslHmacSha1Base64 } from "./support/openssl.js";

describe("turnRestCredential", () => {
  it("matches a fixed known answer (computed with openssl dgst -sha1 -hmac)", () => {
    // printf %s '1795443205:test' | openssl dgst -sha1 -hmac s3cret -binary | base64
    expect(turnRestCredential("s3cret", 1795443205, "test")).toEqual({
      username: "1795443205:test",
      credential: "nYY4sKmHfyA554dV/QR9rEgUSz8=",
    });
  });

  it("matches openssl for random secrets, expiries and ids", () => {
    for (let i = 0; i < 5; i++) {
      const secret = `secret-${Math.random().toString(36).slice(2)}-ü`;
      const expiry = 1_700_000_000 + Math.floor(Math.random() * 1e8);
      const id = newCredentialId();
      const { username, credential } = turnRestCredential(secret, expiry, id);
      expect(username).toBe(`${expiry}:${id}`);
      expect(credential).toBe(opensslHmacSha1Base64(secret, username));
    }
  });

  it("refuses an id with the ':' separator in it", () => {
    expect(() => turnRestCredential("s", 1, "a:b")).toThrow(/must not contain ':'/);
  });
});

describe("newCredentialId", () => {
  it("is random and carries no ':'", () => {
    const ids = new Set(Array.from({ length: 100 }, newCredentialId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });
});
