import type { ChangeStreamDocument, ChangeStreamOptions, Document, ResumeToken } from "mongodb";
import { MongoAPIError, MongoRuntimeError, MongoServerError } from "mongodb";
import type { ChangeSource, ChangeStreamLike } from "../../src/store/mongo/deployment/change-stream-feed.js";

type Entry<TDoc extends Document> = { readonly token: ResumeToken; readonly change: ChangeStreamDocument<TDoc> };

/**
 * A collection's change history as a replica set keeps it (the oplog), and
 * change streams over it that behave as the driver's ChangeStream does
 * toward its caller: the aggregate runs on the first tryNext (a refused or
 * too-old resume token fails there), `next` waits for the next change,
 * `invalidate` is the last event of a stream, an error the driver gave up
 * on closes the stream, `close` ends a waiting `next` with an error, and
 * `resumeToken` is the token after the last change returned.
 */
export class ScriptedChangeHistory<TDoc extends Document & { _id: string }> implements ChangeSource<TDoc> {
  private readonly entries: Entry<TDoc>[] = [];
  /** Entries before this index are gone (the oplog rolled over them). */
  private oldestKept = 0;
  private readonly streams = new Set<ScriptedStream<TDoc>>();
  /** While set, opening a stream fails with it (the deployment is down). */
  refuseWith: Error | undefined;
  /** Every stream opened, with the options it was opened with. */
  readonly opened: ChangeStreamOptions[] = [];

  watch(_pipeline: Document[], options: ChangeStreamOptions): ChangeStreamLike<TDoc> {
    this.opened.push(options);
    const stream = new ScriptedStream<TDoc>(this, () => this.startIndex(options), this.refuseWith);
    this.streams.add(stream);
    return stream;
  }

  /** An insert, update or replace of `doc` (as the driver delivers it with fullDocument: "updateLookup"). */
  write(doc: TDoc): void {
    this.append({ operationType: "update", documentKey: { _id: doc._id }, fullDocument: structuredClone(doc) } as unknown as ChangeStreamDocument<TDoc>);
  }

  delete(id: string): void {
    this.append({ operationType: "delete", documentKey: { _id: id } } as unknown as ChangeStreamDocument<TDoc>);
  }

  /** The collection was dropped: every open stream gets `invalidate` as its last event. */
  invalidate(): void {
    this.append({ operationType: "invalidate" } as unknown as ChangeStreamDocument<TDoc>);
  }

  /** The oplog rolls over every change so far: a token from before now is too old to resume from. */
  forgetHistory(): void {
    this.oldestKept = this.entries.length;
  }

  /** The driver gives up on every open stream with `error` (e.g. its own resume attempt found no server). */
  breakStreams(error: Error): void {
    for (const stream of this.streams) stream.fail(error);
  }

  get openStreams(): number {
    return [...this.streams].filter((stream) => !stream.closed).length;
  }

  /** @internal */
  entryAt(index: number): Entry<TDoc> | undefined {
    return this.entries[index];
  }

  private append(change: ChangeStreamDocument<TDoc>): void {
    const token = { _data: `token-${this.entries.length}` };
    this.entries.push({ token, change: { ...change, _id: token } as ChangeStreamDocument<TDoc> });
    for (const stream of this.streams) stream.wake();
  }

  private startIndex({ resumeAfter, startAfter }: ChangeStreamOptions): number {
    const token = resumeAfter ?? startAfter;
    if (token === undefined) return this.entries.length;
    const index = this.entries.findIndex((entry) => (entry.token as { _data: string })._data === (token as { _data: string })._data);
    if (index < 0 || index < this.oldestKept - 1) {
      throw new MongoServerError({ message: "Resume of change stream was not possible, as the resume point may no longer be in the oplog.", code: 286, codeName: "ChangeStreamHistoryLost" });
    }
    if (this.entries[index]!.change.operationType === "invalidate" && startAfter === undefined) {
      throw new MongoServerError({ message: "cannot resume stream after an invalidate event; use startAfter", code: 260, codeName: "InvalidResumeToken" });
    }
    return index + 1;
  }
}

class ScriptedStream<TDoc extends Document & { _id: string }> implements ChangeStreamLike<TDoc> {
  private position: number | undefined;
  private failure: Error | undefined;
  private isClosed = false;
  private lastToken: ResumeToken | undefined;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly history: ScriptedChangeHistory<TDoc>,
    private readonly start: () => number,
    private readonly refusal: Error | undefined,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  get resumeToken(): ResumeToken {
    return this.lastToken as ResumeToken;
  }

  async tryNext(): Promise<ChangeStreamDocument<TDoc> | null> {
    this.begin();
    return this.take();
  }

  async next(): Promise<ChangeStreamDocument<TDoc>> {
    this.begin();
    for (;;) {
      const change = this.take();
      if (change) return change;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.wake();
  }

  fail(error: Error): void {
    this.failure = error;
    this.wake();
  }

  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** The aggregate: runs once, on first use. */
  private begin(): void {
    if (this.position !== undefined) return;
    if (this.refusal) throw this.refusal;
    this.position = this.start();
  }

  private take(): ChangeStreamDocument<TDoc> | null {
    if (this.isClosed) throw new MongoAPIError("ChangeStream is closed");
    if (this.failure) {
      this.isClosed = true;
      throw this.failure;
    }
    const entry = this.history.entryAt(this.position!);
    if (!entry) return null;
    this.position! += 1;
    this.lastToken = entry.token;
    if (entry.change.operationType === "invalidate") {
      // The server ends the cursor after invalidate; the driver's next call says the stream is closed.
      this.failure = new MongoRuntimeError("ChangeStream is closed");
    }
    return entry.change;
  }
}
