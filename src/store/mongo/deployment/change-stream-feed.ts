import type { ChangeStream, ChangeStreamDocument, Collection, Document, ResumeToken } from "mongodb";
import type { FeedSink } from "./feed-sink.js";
import type { StoreLogger } from "./options.js";

const reopenDelayMs = 1000;

/**
 * Where the deployment has change streams: ONE change stream per process,
 * its events fanned out to the local watchers. The driver resumes it by
 * itself after a transient error; when it gives up, every local watch ends
 * with `unavailable` (clients reconnect) and the stream reopens from its
 * last resume token.
 */
export class ChangeStreamFeed<TDoc extends Document & { _id: string }> {
  private stream: ChangeStream<TDoc> | undefined;
  private resumeToken: ResumeToken | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly collection: Collection<TDoc>,
    private readonly sink: FeedSink<TDoc>,
    private readonly logger: StoreLogger,
    /** Fetches what watchers that subscribed while the stream was down may have missed. */
    private readonly catchUp: () => Promise<void>,
  ) {}

  /** Opens the stream and waits until the server accepted it, so no change after this call is missed. */
  async open(): Promise<void> {
    const stream = this.collection.watch<TDoc, ChangeStreamDocument<TDoc>>(
      [{ $match: { operationType: { $in: ["insert", "update", "replace", "delete"] } } }],
      { fullDocument: "updateLookup", ...(this.resumeToken !== undefined && { resumeAfter: this.resumeToken }) },
    );
    // Starting the cursor makes the server run the aggregate; its first batch is empty or the first changes.
    let first: ChangeStreamDocument<TDoc> | null;
    try {
      first = await stream.tryNext();
    } catch (error) {
      await stream.close().catch(() => {});
      throw error;
    }
    this.stream = stream;
    if (first) this.handle(first);
    void this.follow(stream);
  }

  private async follow(stream: ChangeStream<TDoc>): Promise<void> {
    try {
      while (!this.closed && !stream.closed) this.handle(await stream.next());
    } catch (error) {
      if (!this.closed && this.stream === stream) this.failed(error as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    await this.stream?.close();
  }

  private handle(change: ChangeStreamDocument<TDoc>): void {
    this.resumeToken = change._id;
    if (change.operationType === "delete") {
      this.sink.deleted(String(change.documentKey._id));
    } else if (
      (change.operationType === "insert" || change.operationType === "update" || change.operationType === "replace") &&
      change.fullDocument
    ) {
      void this.sink.deliver([change.fullDocument]);
    }
  }

  private failed(error: Error): void {
    this.logger.warn("the change stream failed; watchers are told to reconnect and it reopens", { error: error.message });
    this.sink.failAll(`MongoDB change stream failed: ${error.message}`);
    void this.stream?.close().catch(() => {});
    this.stream = undefined;
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed) return;
    this.reopenTimer = setTimeout(() => {
      this.open().then(this.catchUp, (error: unknown) => {
        // A token too old to resume from is of no use; later changes are what watchers need.
        this.resumeToken = undefined;
        this.logger.warn("reopening the change stream failed; retrying", { error: String(error) });
        this.scheduleReopen();
      });
    }, reopenDelayMs);
    this.reopenTimer.unref();
  }
}
