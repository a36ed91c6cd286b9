import { describe, expect, it } from "vitest";
import { idClauses, maxPollLookupsById, packClauses, pollFiltersByCounter } from "../src/store/mongo/deployment/poll-filter.js";

describe("pollFiltersByCounter", () => {
  it("asks nothing when nothing is watched", () => {
    expect(pollFiltersByCounter("version", [])).toEqual([]);
  });

  it("groups the watched ids by the counter their watchers have: one clause per distinct counter", () => {
    const watched = [["a", 1], ["b", 3], ["c", 1], ["d", 3], ["e", 7]] as const;
    expect(pollFiltersByCounter("version", watched)).toEqual([
      {
        $or: [
          { version: { $gt: 1 }, _id: { $in: ["a", "c"] } },
          { version: { $gt: 3 }, _id: { $in: ["b", "d"] } },
          { version: { $gt: 7 }, _id: { $in: ["e"] } },
        ],
      },
    ]);
  });

  it("names at most maxIds ids per query, splitting a group across queries, and names every id once", () => {
    const watched = Array.from({ length: 10 }, (_, n) => [`c${n}`, n < 7 ? 1 : 2] as const);
    const filters = pollFiltersByCounter("version", watched, "range", 4);
    expect(filters).toEqual([
      { version: { $gt: 1 }, _id: { $in: ["c0", "c1", "c2", "c3"] } },
      { version: { $gt: 1 }, _id: { $in: ["c4", "c5", "c6"] } },
      { version: { $gt: 2 }, _id: { $in: ["c7", "c8", "c9"] } },
    ]);
  });

  it("puts the counter before the ids in every clause, so an unchanged document fails at the first comparison", () => {
    const [filter] = pollFiltersByCounter("sequence", [["room", 4]]);
    expect(Object.keys(filter!)).toEqual(["sequence", "_id"]);
  });

  it("packs clauses of different kinds into one query while they name at most maxIds ids, never splitting one", () => {
    const clauses = [
      ...idClauses<{ _id: string; epoch: string }>(["r1", "r2"], (chunk) => ({ _id: { $in: chunk }, epoch: { $nin: ["e1", "e2"] } }), 4),
      ...idClauses<{ _id: string; epoch: string }>(["r3"], (chunk) => ({ _id: { $in: chunk } }), 4),
      ...idClauses<{ _id: string; epoch: string }>(["r4", "r5"], (chunk) => ({ _id: { $in: chunk } }), 4),
    ];
    expect(packClauses(clauses, 4)).toEqual([
      { $or: [{ _id: { $in: ["r1", "r2"] }, epoch: { $nin: ["e1", "e2"] } }, { _id: { $in: ["r3"] } }] },
      { _id: { $in: ["r4", "r5"] } },
    ]);
  });

  it("reads by id, one lookup per watched document, where the server scans for anything else (FerretDB), while few are watched", () => {
    expect(pollFiltersByCounter("version", [["a", 1], ["b", 3]], "by-id")).toEqual([
      { _id: "a", version: { $gt: 1 } },
      { _id: "b", version: { $gt: 3 } },
    ]);
    const many = Array.from({ length: maxPollLookupsById + 1 }, (_, n) => [`c${n}`, 1] as const);
    expect(pollFiltersByCounter("version", many, "by-id")).toEqual([{ version: { $gt: 1 }, _id: { $in: many.map(([id]) => id) } }]);
  });
});
