/** Cursor paging as Meta's edges do it: `limit`, `after`, `paging.cursors`, `paging.next`. */

import { errors } from "./errors.ts";
import { type Params, stringParam } from "./params.ts";

export interface Paging {
  cursors: { before: string; after: string };
  next?: string;
}

export interface Page<T> {
  data: T[];
  paging?: Paging;
}

const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 5000;

const encodeCursor = (key: string) => btoa(key).replace(/=+$/, "");
const decodeCursor = (cursor: string) => {
  try {
    return atob(cursor);
  } catch {
    throw errors.invalidParam("Invalid cursor");
  }
};

/**
 * One page of `items` after the `after` cursor. Items are sorted by `keyOf` (ascending, or
 * descending when `descending`), so a cursor whose item has since vanished still finds its place.
 * `nextUrl` builds the absolute link for a given `after` cursor.
 */
export function paginate<T>(
  items: T[],
  keyOf: (item: T) => string,
  descending: boolean,
  params: Params,
  nextUrl: (after: string) => string,
): Page<T> {
  const limit = Math.min(
    MAX_LIMIT,
    Math.max(1, Number(stringParam(params, "limit") ?? DEFAULT_LIMIT) || DEFAULT_LIMIT),
  );
  const after = stringParam(params, "after");
  let start = 0;
  if (after) {
    const key = decodeCursor(after);
    const index = items.findIndex((item) => descending ? keyOf(item) < key : keyOf(item) > key);
    start = index === -1 ? items.length : index;
  }
  const data = items.slice(start, start + limit);
  if (data.length === 0) return { data };
  const cursors = {
    before: encodeCursor(keyOf(data[0])),
    after: encodeCursor(keyOf(data[data.length - 1])),
  };
  const more = start + limit < items.length;
  return { data, paging: { cursors, ...(more ? { next: nextUrl(cursors.after) } : {}) } };
}
