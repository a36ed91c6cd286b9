import { revealed } from "../src/lib/secret.js";
import { describe, expect, it } from "vitest";
import { configOf } from "./support/config-of.js";
import { ConfigError, helpText, loadConfig } from "../src/server/config.js";


describe("MongoDB settings", () => {
  it("selects the mongodb store with its defaults", () => {
    const { store, mongodb } = configOf(["--store", "mongodb"]);
    expect(store).toBe("mongodb");
    expect(revealed(mongodb.uri)).toBe("mongodb://127.0.0.1:27017");
    expect({ ...mongodb, uri: revealed(mongodb.uri) }).toEqual({
      uri: "mongodb://127.0.0.1:27017",
      database: "switchboard",
      collection: "channels",
      roomCollection: "rooms",
      writeConcern: "majority",
      watchMode: "auto",
      pollIntervalMs: 200,
      serverSelectionTimeoutMs: 2000,
      socketTimeoutMs: 10000,
      sweepIntervalMs: 10000,
    });
  });

  it("reads the URI from --mongodb-uri, then SWITCHBOARD_MONGODB_URI, then MONGODB_URI", () => {
    const uri = (argv: string[], env: Record<string, string>) => revealed(configOf(argv, env).mongodb.uri);
    expect(uri([], { MONGODB_URI: "mongodb://conventional/" })).toBe("mongodb://conventional/");
    expect(uri([], { MONGODB_URI: "mongodb://conventional/", SWITCHBOARD_MONGODB_URI: "mongodb://own/" })).toBe("mongodb://own/");
    expect(uri(["--mongodb-uri", "mongodb://flag/"], { SWITCHBOARD_MONGODB_URI: "mongodb://own/" })).toBe("mongodb://flag/");
  });

  it("accepts a numeric write concern and refuses nonsense with the setting's name", () => {
    expect(configOf(["--mongodb-write-concern", "1"]).mongodb.writeConcern).toBe(1);
    expect(() => configOf(["--mongodb-write-concern", "most"])).toThrow(ConfigError);
    expect(() => configOf(["--mongodb-watch-mode", "sometimes"])).toThrow(/--mongodb-watch-mode/);
  });

  it("lists MONGODB_URI in --help", () => {
    expect(helpText()).toContain("SWITCHBOARD_MONGODB_URI or MONGODB_URI");
  });
});
