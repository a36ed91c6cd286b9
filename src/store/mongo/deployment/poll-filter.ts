import type { Document, Filter } from "mongodb";

/**
 * Most ids one poll query names. A poll of more watched documents runs
 * several queries, one after another, so that no query grows without bound
 * (MongoDB refuses commands over 16 MiB; an id is some 40 bytes). FerretDB
 * 1.x reads the whole collection for each query, so fewer is better there.
 */
export const maxIdsPerPollQuery = 20_000;

/**
 * How a poll reads the watched documents: `range`, the grouped queries
 * below (MongoDB answers them from the `_id` index); `by-id`, one `_id`
 * lookup per watched document, for a server that reads the whole
 * collection for any other filter (FerretDB 1.x) — while few are watched.
 */
export type PollLookup = "range" | "by-id";

/** Above this many watched documents a `by-id` poll reads by range instead: one scan then costs less than the lookups. */
export const maxPollLookupsById = 256;

/** Whether this poll reads by id. */
export function pollsById(lookup: PollLookup, watched: number): boolean {
  return lookup === "by-id" && watched <= maxPollLookupsById;
}

/** One clause of a poll query and how many ids it names. */
export interface PollClause<TDoc extends Document> {
  readonly filter: Filter<TDoc>;
  readonly ids: number;
}

/**
 * The watched ids grouped by the counter (a version or a sequence) their
 * watchers have: one clause per distinct value, matching the documents
 * whose `field` moved past it. Each clause names the counter before the
 * ids, so a server that evaluates it in order (FerretDB) rejects an
 * unchanged document at the first, cheap comparison, and a MongoDB server
 * answers each clause from the `_id` index. A handful of distinct counters
 * cover thousands of channels, where one clause per channel made FerretDB
 * compare every document against every clause.
 */
export function counterClauses<TDoc extends Document>(
  field: string,
  watched: Iterable<readonly [id: string, counter: number]>,
  maxIds = maxIdsPerPollQuery,
): PollClause<TDoc>[] {
  const byCounter = new Map<number, string[]>();
  for (const [id, counter] of watched) {
    const ids = byCounter.get(counter);
    if (ids) ids.push(id);
    else byCounter.set(counter, [id]);
  }
  return [...byCounter].flatMap(([counter, ids]) => idClauses(ids, (chunk) => ({ [field]: { $gt: counter }, _id: { $in: chunk } }) as Filter<TDoc>, maxIds));
}

/** `ids` in chunks of at most `maxIds`, each made a clause by `make`. */
export function idClauses<TDoc extends Document>(ids: readonly string[], make: (chunk: string[]) => Filter<TDoc>, maxIds = maxIdsPerPollQuery): PollClause<TDoc>[] {
  const clauses: PollClause<TDoc>[] = [];
  for (let start = 0; start < ids.length; start += maxIds) {
    const chunk = ids.slice(start, start + maxIds);
    clauses.push({ filter: make(chunk), ids: chunk.length });
  }
  return clauses;
}

/** The clauses packed into as few queries as hold at most `maxIds` ids each (a clause is never split). */
export function packClauses<TDoc extends Document>(clauses: readonly PollClause<TDoc>[], maxIds = maxIdsPerPollQuery): Filter<TDoc>[] {
  const filters: Filter<TDoc>[] = [];
  let current: Filter<TDoc>[] = [];
  let size = 0;
  const flush = () => {
    if (current.length > 0) filters.push(current.length === 1 ? current[0]! : ({ $or: current } as Filter<TDoc>));
    current = [];
    size = 0;
  };
  for (const clause of clauses) {
    if (size + clause.ids > maxIds) flush();
    current.push(clause.filter);
    size += clause.ids;
  }
  flush();
  return filters;
}

/** The poll queries for documents whose counter `field` moved past what their watchers have. */
export function pollFiltersByCounter<TDoc extends Document>(
  field: string,
  watched: readonly (readonly [id: string, counter: number])[],
  lookup: PollLookup = "range",
  maxIds = maxIdsPerPollQuery,
): Filter<TDoc>[] {
  if (pollsById(lookup, watched.length)) return watched.map(([id, counter]) => ({ _id: id, [field]: { $gt: counter } }) as Filter<TDoc>);
  return packClauses(counterClauses<TDoc>(field, watched, maxIds), maxIds);
}
