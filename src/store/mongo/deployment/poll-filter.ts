import type { Document, Filter } from "mongodb";

/**
 * Most ids one poll query names. A poll of more watched documents runs
 * several queries, one after another, so that no query grows without bound
 * (MongoDB refuses commands over 16 MiB; an id is some 40 bytes).
 */
export const maxIdsPerPollQuery = 5000;

/**
 * The poll queries for documents whose counter `field` (a version or a
 * sequence) moved past what their watchers have: the watched ids grouped
 * by that counter, one clause per distinct value. Each clause names the
 * counter before the ids, so a server that evaluates it in order (FerretDB)
 * rejects an unchanged document at the first, cheap comparison, and a
 * MongoDB server answers each clause from the `_id` index. A handful of
 * distinct counters cover thousands of channels, where one clause per
 * channel made FerretDB compare every document against every clause.
 */
export function pollFiltersByCounter<TDoc extends Document>(
  field: string,
  watched: Iterable<readonly [id: string, counter: number]>,
  extra: readonly Filter<TDoc>[] = [],
  maxIds = maxIdsPerPollQuery,
): Filter<TDoc>[] {
  const byCounter = new Map<number, string[]>();
  for (const [id, counter] of watched) {
    const ids = byCounter.get(counter);
    if (ids) ids.push(id);
    else byCounter.set(counter, [id]);
  }
  const filters: Filter<TDoc>[] = [];
  let clauses: Filter<TDoc>[] = [];
  let size = 0;
  const flush = () => {
    if (clauses.length > 0) filters.push((clauses.length === 1 ? clauses[0]! : { $or: clauses }) as Filter<TDoc>);
    clauses = [];
    size = 0;
  };
  for (const [counter, ids] of byCounter) {
    for (let start = 0; start < ids.length; ) {
      const take = ids.slice(start, start + (maxIds - size));
      clauses.push({ [field]: { $gt: counter }, _id: { $in: take } } as Filter<TDoc>);
      size += take.length;
      start += take.length;
      if (size >= maxIds) flush();
    }
  }
  flush();
  return [...filters, ...extra];
}
