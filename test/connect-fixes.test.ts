import { describe, expect, it } from "vitest";
import { missingConnectFixes } from "../src/server/connect-fixes.js";

describe("the fixes to Connect's protocol modules (patches/)", () => {
  it("are all in effect in the modules the server loads", async () => {
    expect(await missingConnectFixes()).toEqual([]);
  });
});
