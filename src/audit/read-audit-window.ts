import type { AuditStore, StoredAuditEvent } from '../ports/audit-store.js';

/**
 * Every event whose time lies in [from, to) (ISO instants as toISOString writes them; no `to`:
 * open-ended), through the audit time index, in pages: each slice of seq order within its slice of
 * time, slices in time order. One query over the whole window paged by seq would be quadratic:
 * SQLite serves `time >= ? AND time < ? AND seq > ? ORDER BY seq` from the time index (EXPLAIN
 * QUERY PLAN: SEARCH … audit_events_time, then a temp B-tree for the ORDER BY), so every page
 * re-reads and sorts the rest of the window; and without an upper bound on time it scans the whole
 * table in seq order instead. So the window is cut into slices of time sized from the density seen
 * so far to about half a page each, which one query reads whole. `latest` (the time of the log's
 * last event, a hint) ends the slicing; anything later (a clock that went back) is still read, by
 * one last query up to `to` or past every time a log can hold.
 */
export async function* readAuditWindow(
  audit: Pick<AuditStore, 'queryAudit'>,
  from: string,
  to: string | undefined,
  latest: string | null,
  page = 10_000,
): AsyncGenerator<StoredAuditEvent[]> {
  const upper = to ?? AFTER_EVERY_TIME;
  if (from >= upper) return;
  const fromMs = Date.parse(from);
  const toMs = to === undefined ? Infinity : Date.parse(to);
  const latestMs = latest === null ? NaN : Date.parse(latest);
  // Slices stop at the last event's time (+1 ms: `to` is exclusive); a window that ends earlier ends them sooner.
  const sliceEnd = Number.isNaN(latestMs) ? fromMs : Math.min(toMs, Math.max(fromMs, latestMs + 1));
  let lo = from;
  let loMs = fromMs;
  let width = FIRST_SLICE_MS;
  while (loMs < sliceEnd) {
    const hiMs = Math.min(sliceEnd, loMs + width);
    const hi = hiMs === toMs ? upper : new Date(hiMs).toISOString();
    let n = 0;
    for await (const rows of pages(audit, lo, hi, page)) {
      n += rows.length;
      yield rows;
    }
    // Aim the next slice at half a page; grow at most eightfold, so a sparse stretch before a
    // dense one does not make a slice many pages long.
    width = Math.max(1, Math.round(width * Math.min(8, page / 2 / Math.max(n, 1))));
    lo = hi;
    loMs = hiMs;
  }
  if (lo < upper) yield* pages(audit, lo, upper, page);
}

/** Above every time an event can carry (validated as `YYYY-MM-DDTHH:MM:SS.sssZ`), as a string. */
const AFTER_EVERY_TIME = '9999-12-31T23:59:59.999Z~';
const FIRST_SLICE_MS = 1000;

/** One slice of time, paged by seq: normally a single query. */
async function* pages(audit: Pick<AuditStore, 'queryAudit'>, from: string, to: string, page: number): AsyncGenerator<StoredAuditEvent[]> {
  let after: number | undefined;
  for (;;) {
    const rows = await audit.queryAudit({ from, to, ...(after !== undefined ? { afterSeq: after } : {}), limit: page });
    if (rows.length > 0) yield rows;
    if (rows.length < page) return;
    after = (rows[rows.length - 1] as StoredAuditEvent).seq;
  }
}
