import type { ChangeStream, ChangeStreamDocument, ChangeStreamOptions, Document, ResumeToken } from "mongodb";
import { MongoServerError } from "mongodb";
import type { FeedSink } from "./feed-sink.js";
import type { StoreLogger } from "./options.js";

/** Pause between attempts to reopen a stream the deployment refused (it is down, or failing over). */
export const reopenDelayMs = 1000;

/** The part of the driver's ChangeStream the feed uses (tests script one). */
export type ChangeStreamLike<TDoc extends Document> = Pick<
  ChangeStream<TDoc, ChangeStreamDocument<TDoc>>,
  "tryNext" | "next" | "close" | "closed" | "resumeToken"
>;

/** What the feed opens streams on: a driver Collection, or a scripted one in tests. */
export interface ChangeSource<TDoc extends Document> {
  watch(pipeline: Document[], options: ChangeStreamOptions): ChangeStreamLike<TDoc>;
}

/** Server codes saying a resume token cannot be used any more: the changes after it are not all kept. */
const historyLostCodes = new Set([
  260, // InvalidResumeToken
  280, // ChangeStreamFatalError
  286, // ChangeStreamHistoryLost
]);

export function isHistoryLost(error: unknown): boolean {
  return error instanceof MongoServerError && typeof error.code === "number" && historyLostCodes.has(error.code);
}

/**
 * The stage of the stream: the document changes, plus `invalidate`
 * (collection dropped or renamed), after which the server ends the stream.
 */
const pipeline = [{ $match: { operationType: { $in: ["insert", "update", "replace", "delete", "invalidate"] } } }];

/**
 * Where the deployment has change streams: ONE change stream per process,
 * its events handed to the sink one at a time, in order (the next event
 * waits until the sink took the previous one).
 *
 * - The driver resumes the stream by itself after a transient error.
 * - When the driver gives up, the feed reopens the stream from its last
 *   resume token at once: watchers see nothing of it, no change is lost,
 *   and a change seen again is dropped by the sink (versions).
 * - When the token is too old (the oplog moved past it) or the collection
 *   was dropped or renamed (`invalidate`), changes were missed: every local
 *   watch ends with `unavailable` (clients reconnect and read afresh) and
 *   the stream starts again from now.
 * - While the deployment refuses the stream, every local watch ends with
 *   `unavailable` and the feed retries every {@link reopenDelayMs}; once it
 *   is back, `catchUp` fetches what watchers that came meanwhile missed.
 */
export class ChangeStreamFeed<TDoc extends Document & { _id: string }> {
  private stream: ChangeStreamLike<TDoc> | undefined;
  /** Where a new stream starts: after the last change handed over, or after an `invalidate`. */
  private resume: { resumeAfter: ResumeToken } | { startAfter: ResumeToken } | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly source: ChangeSource<TDoc>,
    private readonly sink: FeedSink<TDoc>,
    private readonly logger: StoreLogger,
    /** Fetches what watchers that subscribed while the stream was down may have missed. */
    private readonly catchUp: () => Promise<void>,
    private readonly retryDelayMs = reopenDelayMs,
  ) {}

  /** Opens the stream and waits until the server accepted it, so no change after this call is missed. */
  async open(): Promise<void> {
    const stream = this.source.watch(pipeline, { fullDocument: "updateLookup", ...this.resume });
    // Starting the cursor makes the server run the aggregate; its first batch is empty or the first changes.
    let first: ChangeStreamDocument<TDoc> | null;
    try {
      first = await stream.tryNext();
    } catch (error) {
      await stream.close().catch(() => {});
      throw error;
    }
    if (this.closed) return void (await stream.close().catch(() => {}));
    this.stream = stream;
    void this.follow(stream, first);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    const stream = this.stream;
    this.stream = undefined;
    await stream?.close();
  }

  private async follow(stream: ChangeStreamLike<TDoc>, first: ChangeStreamDocument<TDoc> | null): Promise<void> {
    try {
      if (first && !(await this.handle(first))) return this.ended(stream);
      while (!this.closed && this.stream === stream) {
        if (!(await this.handle(await stream.next()))) return this.ended(stream);
      }
    } catch (error) {
      if (!this.closed && this.stream === stream) this.broken(stream, error as Error);
    }
  }

  /** Hands one change to the sink; false when it ends the stream. */
  private async handle(change: ChangeStreamDocument<TDoc>): Promise<boolean> {
    if (change.operationType === "invalidate") {
      this.resume = { startAfter: change._id };
      return false;
    }
    if (change.operationType === "delete") {
      this.sink.deleted(String(change.documentKey._id));
    } else if (
      (change.operationType === "insert" || change.operationType === "update" || change.operationType === "replace") &&
      change.fullDocument
    ) {
      await this.sink.deliver([change.fullDocument]);
    }
    this.resume = { resumeAfter: change._id };
    return true;
  }

  /** The collection was dropped or renamed: its documents are gone without a delete event each. */
  private ended(stream: ChangeStreamLike<TDoc>): void {
    if (this.closed || this.stream !== stream) return;
    this.logger.warn("the change stream was invalidated (collection dropped or renamed); watchers are told to reconnect");
    this.detach(stream);
    this.sink.failAll("the MongoDB collection was dropped or renamed");
    this.reopen();
  }

  /** The driver gave up on the stream: reopen it from where it was. */
  private broken(stream: ChangeStreamLike<TDoc>, error: Error): void {
    // The driver's token also covers batches without events (postBatchResumeToken), so it is the newest.
    const token = stream.resumeToken;
    if (token !== undefined && token !== null && !(this.resume && "startAfter" in this.resume)) this.resume = { resumeAfter: token };
    this.logger.warn("the change stream failed; reopening it from its resume token", { error: error.message });
    this.detach(stream);
    if (isHistoryLost(error)) return this.historyLost(error);
    this.reopen();
  }

  private detach(stream: ChangeStreamLike<TDoc>): void {
    this.stream = undefined;
    void stream.close().catch(() => {});
  }

  /** Changes after the token are not all kept: watchers must read afresh. */
  private historyLost(error: Error): void {
    this.logger.warn("the change stream cannot resume (its history is gone); watchers are told to reconnect", { error: error.message });
    this.resume = undefined;
    this.sink.failAll(`MongoDB change stream lost its history: ${error.message}`);
    this.reopen();
  }

  private reopen(): void {
    if (this.closed) return;
    this.open().then(
      () => this.catchUp(),
      (error: unknown) => {
        if (this.closed) return;
        if (isHistoryLost(error)) return this.historyLost(error as Error);
        this.logger.warn("reopening the change stream failed; watchers are told to reconnect, retrying", { error: String(error) });
        this.sink.failAll(`MongoDB change stream failed: ${String(error)}`);
        this.reopenTimer = setTimeout(() => this.reopen(), this.retryDelayMs);
        this.reopenTimer.unref();
      },
    );
  }
}
