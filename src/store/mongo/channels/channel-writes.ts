import { performance } from "node:perf_hooks";
import type { Collection, Filter, UpdateFilter } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import { StoreError } from "../../store.js";
import { guarded } from "../deployment/unavailable.js";
import type { Fence, WriteGuard } from "../deployment/write-lock.js";
import type { ChangeCode, ChannelDocument } from "./document.js";
import type { WatchHub } from "./watch-hub.js";

/** The parts of an update a channel mutation gives; the version step, change codes and fence are added. */
export type ChannelUpdate = Pick<UpdateFilter<ChannelDocument>, "$set" | "$push"> & { readonly $inc?: { readonly bytes: number } };

/**
 * Reads and conditional writes of channel documents: every write is ONE
 * findOneAndUpdate whose filter holds the channel's liveness and the
 * caller's conditions, run through the deployment's write guard (nothing
 * on MongoDB; the fenced lease lock on FerretDB).
 */
export class ChannelWrites {
  constructor(
    private readonly collection: Collection<ChannelDocument>,
    private readonly writeGuard: WriteGuard,
    private readonly hub: WatchHub,
    private readonly clock: Clock,
  ) {}

  /** Live: not past its expire time and not closed. */
  liveFilter(id?: string): Filter<ChannelDocument> {
    return { ...(id !== undefined && { _id: id }), expireAt: { $gt: new Date(this.clock.now()) }, closedBy: { $exists: false } };
  }

  findLive(id: string): Promise<ChannelDocument | null> {
    return guarded(id, () => this.collection.findOne(this.liveFilter(id)));
  }

  async requireLive(id: string): Promise<ChannelDocument> {
    const doc = await this.findLive(id);
    if (!doc) throw new StoreError("not-found", id);
    return doc;
  }

  /**
   * Applies `update` plus one version step per change code, if the channel
   * is live and `conditions` hold; null when they do not. Local watchers
   * hear of the change at once; other processes' watchers through their feed.
   */
  async mutate(id: string, conditions: Filter<ChannelDocument>, update: ChannelUpdate, change: ChangeCode | readonly ChangeCode[]): Promise<ChannelDocument | null> {
    const filter = { ...this.liveFilter(id), ...conditions } as Filter<ChannelDocument>;
    const codes = typeof change === "string" ? [change] : change;
    const changes = codes.length === 1 ? codes[0] : { $each: codes };
    const step = (fence: Fence) =>
      ({
        ...update,
        $set: { ...update.$set, ...fence.set },
        $inc: { ...update.$inc, version: codes.length },
        $push: { ...update.$push, changes },
      }) as UpdateFilter<ChannelDocument>;
    const stillApplies = async () => (await guarded(id, () => this.collection.countDocuments(filter, { limit: 1 }))) > 0;
    const write = (fence: Fence) =>
      guarded(id, () => this.collection.findOneAndUpdate({ ...filter, ...fence.filter } as Filter<ChannelDocument>, step(fence), { returnDocument: "after" }));
    const startedAt = performance.now();
    const doc = (await this.writeGuard.run(id, write, stillApplies)) ?? null;
    if (doc) this.hub.observed(doc, startedAt, this.clock.now());
    return doc;
  }
}

/** A filter clause: the document's `bytes` leave room for `added` more within `max` (a document without the field has room). */
export function bytesRoom(max: number, added: number): Filter<ChannelDocument> {
  return { bytes: { $not: { $gt: max - added } } } as Filter<ChannelDocument>;
}
