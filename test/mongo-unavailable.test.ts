import { MongoNetworkError, MongoServerError } from "mongodb";
import { describe, expect, it } from "vitest";
import { StoreError } from "../src/store/store.js";
import { guarded } from "../src/store/mongo/deployment/unavailable.js";

describe("guarded", () => {
  const failWith = (error: Error) => guarded("ch-1", () => Promise.reject(error)).catch((e: unknown) => e);

  it("turns a lost connection and a stepping-down primary into `unavailable`", async () => {
    for (const error of [
      new MongoNetworkError("connection reset"),
      new MongoServerError({ code: 10107, codeName: "NotWritablePrimary", errmsg: "not primary" }),
      new MongoServerError({ code: 91, codeName: "ShutdownInProgress", errmsg: "shutting down" }),
    ]) {
      const failure = await failWith(error);
      expect(failure).toBeInstanceOf(StoreError);
      expect(failure).toMatchObject({ reason: "unavailable", channelId: "ch-1" });
    }
  });

  it("passes other server errors through unchanged", async () => {
    const error = new MongoServerError({ code: 2, codeName: "BadValue", errmsg: "bad value" });
    expect(await failWith(error)).toBe(error);
  });
});
