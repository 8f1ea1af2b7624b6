/**
 * Rejects audit events on their canonical bytes, before JSON decoding (which costs ~7 µs an event
 * and dominated scans of the whole log). event-codec.ts writes every field as `"key":<JSON>` in a
 * fixed order with values escaped by JSON.stringify, so an event whose field has a given value
 * always contains the bytes these patterns spell; the converse need not hold (the same bytes may
 * sit elsewhere, in a detail value say), so a filter only ever says "maybe": the caller decodes
 * what passes and checks the decoded event. Patterns contain no newline (JSON escapes it), so one
 * never spans two events of a newline-joined page.
 */
export const eventField = {
  action: (a: string): Buffer => Buffer.from(`"action":${JSON.stringify(a)},"outcome":`),
  outcome: (o: string): Buffer => Buffer.from(`"outcome":${JSON.stringify(o)},"principal":`),
  principal: (id: string): Buffer => Buffer.from(`"principal":{"id":${JSON.stringify(id)},"role":`),
  tenant: (t: string): Buffer => Buffer.from(`"tenant":${JSON.stringify(t)},"patients":`),
  ip: (ip: string): Buffer => Buffer.from(`"origin":{"ip":${JSON.stringify(ip)},"user_agent":`),
  /** A key of `detail`, whatever its value (a value cannot hold a bare quote, so this is a key somewhere). */
  detailKey: (k: string): Buffer => Buffer.from(`${JSON.stringify(k)}:`),
};

export class RawEventFilter {
  private readonly from: Buffer | null;
  private readonly to: Buffer | null;

  /**
   * @param groups each group is satisfied when the bytes contain any of its patterns (an empty
   *   group never is); the filter passes bytes that satisfy every group.
   * @param anchor the most selective group, which a scan searches a whole page for before it
   *   looks at single events; null when no group is selective.
   * @param window ISO instants as toISOString writes them: the event's time must lie in [from, to).
   */
  constructor(
    readonly groups: readonly (readonly Buffer[])[],
    readonly anchor: readonly Buffer[] | null,
    window: { from?: string | undefined; to?: string | undefined } = {},
  ) {
    this.from = window.from !== undefined ? Buffer.from(window.from) : null;
    this.to = window.to !== undefined ? Buffer.from(window.to) : null;
  }

  /** False only when `bytes` cannot be a canonical event that passes. */
  mayMatch(bytes: Buffer): boolean {
    return this.inWindow(bytes) && this.groups.every((g) => g.some((p) => bytes.indexOf(p) >= 0));
  }

  /** False only when `bytes` contain no pattern of the anchor (true without an anchor). */
  mayAnchor(bytes: Buffer): boolean {
    return this.anchor === null || this.anchor.some((p) => bytes.indexOf(p) >= 0);
  }

  private inWindow(bytes: Buffer): boolean {
    if (this.from === null && this.to === null) return true;
    // Only numbers and hex come before the time, so its key's first occurrence is the field.
    const at = bytes.indexOf(TIME);
    if (at < 0) return true;
    const start = at + TIME.length;
    const end = bytes.indexOf(0x22, start);
    if (end < 0) return true;
    // Byte order is string order only for plain ASCII: anything else is left to the decoded check.
    for (let i = start; i < end; i++) if ((bytes[i] as number) >= 0x80 || bytes[i] === 0x5c) return true;
    if (this.from !== null && bytes.compare(this.from, 0, this.from.length, start, end) < 0) return false;
    return this.to === null || bytes.compare(this.to, 0, this.to.length, start, end) < 0;
  }
}

const TIME = Buffer.from('"time":"');
