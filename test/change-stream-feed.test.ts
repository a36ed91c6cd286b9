import { MongoNetworkError, MongoServerError } from "mongodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChannelChange } from "../src/store/store.js";
import { ChangeStreamFeed } from "../src/store/mongo/deployment/change-stream-feed.js";
import type { ChannelDocument } from "../src/store/mongo/channels/document.js";
import { newChannelDocument } from "../src/store/mongo/channels/document.js";
import type { FeedSink } from "../src/store/mongo/deployment/feed-sink.js";
import { channelFeedSink, WatchHub } from "../src/store/mongo/channels/watch-hub.js";
import { FakeClock } from "./support/fake-clock.js";
import { RecordingLogger } from "./support/mongo-options.js";
import { ScriptedChangeHistory } from "./support/scripted-change-stream.js";

/** A channel document at `version`: every change after the first added one offerer candidate. */
function channelAt(id: string, version: number, now: number): ChannelDocument {
  const doc = newChannelDocument({ id, offererTokenHash: "h", createTime: now, expireTime: now + 600_000 });
  const candidates = Array.from({ length: version - 1 }, (_, n) => ({ candidate: `candidate:${n}` }));
  return {
    ...doc,
    version,
    changes: candidates.map(() => "candidate:offerer" as const),
    candidates: { offerer: candidates, answerer: [] },
  };
}

/** What a watcher saw, compactly: the version of each update, else the kind (and code of a failure). */
function seen(changes: readonly ChannelChange[]): (number | string)[] {
  return changes.map((change) =>
    change.kind === "updated" ? change.state.version : change.kind === "failed" ? `failed:${change.error.reason}` : change.kind,
  );
}

/** One process's view: the scripted deployment, its change stream feed and the channel watch hub behind it. */
class Harness {
  readonly clock = new FakeClock(Date.now());
  readonly history = new ScriptedChangeHistory<ChannelDocument>();
  readonly hub = new WatchHub();
  readonly logger = new RecordingLogger();
  /** The documents as they are now, what a catch-up poll reads. */
  readonly docs = new Map<string, ChannelDocument>();
  catchUps = 0;
  readonly feed: ChangeStreamFeed<ChannelDocument>;

  /** `sink` replaces the watch hub's sink (the catch-up still reads into the hub). */
  constructor(sink?: FeedSink<ChannelDocument>) {
    const hubSink = channelFeedSink(this.hub, this.clock);
    const catchUp = async () => {
      this.catchUps++;
      await hubSink.deliver([...this.docs.values()]);
    };
    this.feed = new ChangeStreamFeed(this.history, sink ?? hubSink, this.logger, catchUp, 5);
  }

  /** Another process writes version `version` of channel `id`. */
  write(id: string, version: number): void {
    const doc = channelAt(id, version, this.clock.now());
    this.docs.set(id, doc);
    this.history.write(doc);
  }

  watch(id: string): ChannelChange[] {
    const changes: ChannelChange[] = [];
    this.hub.add(id, (change) => changes.push(change));
    return changes;
  }
}

/** Opens the feed, watches channel "a" and waits until its watcher saw version 2. */
async function watchingPastFirstChange(h: Harness): Promise<ChannelChange[]> {
  await h.feed.open();
  const a = h.watch("a");
  h.write("a", 2);
  await vi.waitFor(() => expect(seen(a)).toEqual([2]));
  return a;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe("ChangeStreamFeed", () => {
  const open: Harness[] = [];
  const harness = (sink?: FeedSink<ChannelDocument>) => {
    const made = new Harness(sink);
    open.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((made) => made.feed.close()));
  });

  it("hands every change to the channel's watchers once, in order, and ends a watch when its document is deleted", async () => {
    const h = harness();
    await h.feed.open();
    const a = h.watch("a");
    const b = h.watch("b");
    h.write("a", 2);
    h.write("b", 2);
    h.write("a", 3);
    h.history.delete("b");
    h.write("a", 4);
    await vi.waitFor(() => expect(seen(a)).toEqual([2, 3, 4]));
    expect(seen(b)).toEqual([2, "expired"]);
  });

  it("waits for the sink to take a change before handing over the next, so a delete never overtakes a slow update", async () => {
    const order: string[] = [];
    const slowSink: FeedSink<ChannelDocument> = {
      pollFilters: () => [],
      deliver: async (docs) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        order.push(...docs.map((doc) => `deliver ${doc._id}@${doc.version}`));
      },
      deleted: (id) => order.push(`deleted ${id}`),
      failAll: () => order.push("failAll"),
    };
    const h = harness(slowSink);
    await h.feed.open();
    h.write("a", 2);
    h.write("a", 3);
    h.history.delete("a");
    await vi.waitFor(() => expect(order).toEqual(["deliver a@2", "deliver a@3", "deleted a"]));
  });

  it("reopens from the last resume token when the driver gives up after a transient error: watchers see every change once and no failure", async () => {
    const h = harness();
    const a = await watchingPastFirstChange(h);
    h.history.breakStreams(new MongoNetworkError("connection reset by peer"));
    // Written by another process while this one has no stream.
    h.write("a", 3);
    h.write("a", 4);
    await vi.waitFor(() => expect(seen(a)).toEqual([2, 3, 4]));
    h.write("a", 5);
    await vi.waitFor(() => expect(seen(a)).toEqual([2, 3, 4, 5]));
    expect(h.history.opened).toHaveLength(2);
    expect(h.history.opened[1]).toMatchObject({ resumeAfter: { _data: "token-0" } });
    expect(h.history.openStreams).toBe(1);
  });

  it("delivers changes replayed after a resume once, though a catch-up poll reads the same documents again", async () => {
    const h = harness();
    const a = await watchingPastFirstChange(h);
    h.history.refuseWith = new MongoNetworkError("connect ECONNREFUSED");
    h.history.breakStreams(new MongoNetworkError("connection reset by peer"));
    await vi.waitFor(() => expect(seen(a)).toEqual([2, "failed:unavailable"]));
    // A client reconnects while the stream is down; another process writes meanwhile.
    const again = h.watch("a");
    h.write("a", 3);
    h.history.refuseWith = undefined;
    await vi.waitFor(() => expect(seen(again)).toEqual([3]));
    expect(h.catchUps).toBeGreaterThanOrEqual(1);
    h.write("a", 4);
    await vi.waitFor(() => expect(seen(again)).toEqual([3, 4]));
    await settle();
    expect(seen(again)).toEqual([3, 4]);
  });

  it("tells watchers to reconnect when the collection is dropped (invalidate), and goes on after it for later watchers", async () => {
    const h = harness();
    await h.feed.open();
    const a = h.watch("a");
    h.write("a", 2);
    h.history.invalidate();
    await vi.waitFor(() => expect(seen(a)).toEqual([2, "failed:unavailable"]));
    // Resuming after an invalidate takes startAfter (resumeAfter is refused by the server).
    await vi.waitFor(() => expect(h.history.opened[1]).toEqual({ fullDocument: "updateLookup", startAfter: { _data: "token-1" } }));
    const c = h.watch("c");
    h.write("c", 2);
    await vi.waitFor(() => expect(seen(c)).toEqual([2]));
    expect(h.logger.lines.map((line) => line.msg)).toContain(
      "the change stream was invalidated (collection dropped or renamed); watchers are told to reconnect",
    );
  });

  it("tells watchers to reconnect when its resume token is too old (ChangeStreamHistoryLost), then follows changes from now", async () => {
    const h = harness();
    const a = await watchingPastFirstChange(h);
    h.history.breakStreams(new MongoNetworkError("connection reset by peer"));
    // Before the feed reopens, the oplog rolls over the changes after its token.
    h.write("a", 3);
    h.write("a", 4);
    h.history.forgetHistory();
    await vi.waitFor(() => expect(seen(a)).toEqual([2, "failed:unavailable"]));
    await vi.waitFor(() => expect(h.history.openStreams).toBe(1));
    expect(h.history.opened.at(-1)).toEqual({ fullDocument: "updateLookup" });
    const again = h.watch("a");
    h.write("a", 5);
    await vi.waitFor(() => expect(seen(again)).toEqual([5]));
  });

  it("starts from now at once when the driver itself reports the history lost", async () => {
    const h = harness();
    await h.feed.open();
    const a = h.watch("a");
    h.history.breakStreams(new MongoServerError({ message: "resume point no longer in the oplog", code: 286, codeName: "ChangeStreamHistoryLost" }));
    await vi.waitFor(() => expect(seen(a)).toEqual(["failed:unavailable"]));
    await vi.waitFor(() => expect(h.history.opened).toEqual([{ fullDocument: "updateLookup" }, { fullDocument: "updateLookup" }]));
  });

  it("keeps retrying while the deployment refuses the stream, keeping its resume token", async () => {
    const h = harness();
    await h.feed.open();
    h.write("x", 2);
    await settle();
    h.history.refuseWith = new MongoNetworkError("connect ECONNREFUSED");
    h.history.breakStreams(new MongoNetworkError("connection reset by peer"));
    await vi.waitFor(() => expect(h.history.opened.length).toBeGreaterThanOrEqual(4));
    h.history.refuseWith = undefined;
    await vi.waitFor(() => expect(h.history.openStreams).toBe(1));
    expect(h.history.opened.slice(1).every((options) => (options.resumeAfter as { _data: string })._data === "token-0")).toBe(true);
  });

  it("stops on close: the stream is closed, no reopen follows, watchers see nothing more", async () => {
    const h = harness();
    await h.feed.open();
    const a = h.watch("a");
    await h.feed.close();
    expect(h.history.openStreams).toBe(0);
    h.write("a", 2);
    await settle();
    expect(seen(a)).toEqual([]);
    expect(h.history.opened).toHaveLength(1);
  });

  it("stops on close while waiting to reopen: no stream is left open", async () => {
    const h = harness();
    await h.feed.open();
    h.history.refuseWith = new MongoNetworkError("connect ECONNREFUSED");
    h.history.breakStreams(new MongoNetworkError("connection reset by peer"));
    await vi.waitFor(() => expect(h.history.opened.length).toBeGreaterThanOrEqual(2));
    await h.feed.close();
    h.history.refuseWith = undefined;
    const attempts = h.history.opened.length;
    await settle();
    expect(h.history.opened).toHaveLength(attempts);
    expect(h.history.openStreams).toBe(0);
  });
});
