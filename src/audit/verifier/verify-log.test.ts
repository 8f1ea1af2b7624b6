import { describe, expect, it } from 'vitest';
import { verifyLog } from './verify-log.js';
import { readEvent, rootOf, sealAll, testSigner } from '../../../test/support/audit-fixture.js';
import { decodeEvent, encodeEvent } from '../event-codec.js';

const ORIGIN = 'labvault.test/audit/1';
const N = 100;
const EVERY = 10;

function setup() {
  const key = testSigner(ORIGIN);
  const events = sealAll(Array.from({ length: N }, (_, i) => readEvent(i)));
  const checkpoints = [];
  for (let size = EVERY; size <= N; size += EVERY)
    checkpoints.push({ note: key.sign(size, rootOf(events, size)), source: `store:${size}` });
  return { key, events, checkpoints };
}

/** Re-encodes event i with one field changed, keeping its seq and prev (what an attacker with SQL access does). */
function edited(bytes: Buffer, change: (e: ReturnType<typeof decodeEvent>['event']) => ReturnType<typeof decodeEvent>['event']): Buffer {
  const d = decodeEvent(bytes);
  return encodeEvent(d.seq, d.prev, change(d.event));
}

describe('verifyLog (standalone verifier)', () => {
  it('accepts an intact log and reports what the signatures cover', async () => {
    const { key, events, checkpoints } = setup();
    const r = await verifyLog({ events: [...events, ...sealAll([])], checkpoints, verifierKey: key.vkey });
    expect(r).toMatchObject({ ok: true, events: N, checkpoints: N / EVERY, first_bad_index: null, verified_size: N, unsigned_tail: 0 });
    // batches are read the same way as single events
    expect((await verifyLog({ events: [events.slice(0, 37), events.slice(37)], checkpoints, verifierKey: key.vkey })).ok).toBe(true);
  });

  it('one field of one event changed: names that index', async () => {
    const { key, events, checkpoints } = setup();
    const forged = [...events];
    forged[42] = edited(events[42]!, (e) => ({ ...e, outcome: 'denied' }));
    const r = await verifyLog({ events: forged, checkpoints, verifierKey: key.vkey });
    expect(r).toMatchObject({ ok: false, first_bad_index: 42 });
  });

  it('the prev field of one event changed: names that event, not its predecessor', async () => {
    const { key, events, checkpoints } = setup();
    for (const i of [0, 1, 50]) {
      const forged = [...events];
      const d = decodeEvent(events[i]!);
      forged[i] = encodeEvent(d.seq, Buffer.alloc(32, 7), d.event);
      expect(await verifyLog({ events: forged, checkpoints, verifierKey: key.vkey }), `event ${i}`).toMatchObject({
        ok: false,
        first_bad_index: i,
      });
    }
  });

  it('an event deleted, a forged one inserted, two swapped, the tail truncated: each names the first bad index', async () => {
    const { key, events, checkpoints } = setup();
    const v = (evs: Buffer[]) => verifyLog({ events: evs, checkpoints, verifierKey: key.vkey });
    expect(await v([...events.slice(0, 17), ...events.slice(18)])).toMatchObject({ ok: false, first_bad_index: 17 });
    const inserted = sealAll(
      Array.from({ length: 18 }, (_, i) =>
        i === 17 ? readEvent(999, { principal: { id: 'mallory', role: 'admin', tenants: ['*'] } }) : readEvent(i),
      ),
    )[17]!;
    expect(await v([...events.slice(0, 17), inserted, ...events.slice(17)])).toMatchObject({ ok: false, first_bad_index: 17 });
    const swapped = [...events];
    [swapped[30], swapped[60]] = [events[60]!, events[30]!];
    expect(await v(swapped)).toMatchObject({ ok: false, first_bad_index: 30 });
    const r = await v(events.slice(0, 73));
    expect(r).toMatchObject({ ok: false, first_bad_index: 73 });
    expect(r.reason).toMatch(/truncated/);
  });

  it('a consistently re-chained and re-hashed history from index k is caught by the signatures at the last signed size ≤ k', async () => {
    const { key, events, checkpoints } = setup();
    const k = 55;
    const history = Array.from({ length: N }, (_, i) => (i >= k ? readEvent(i, { patients: ['pat-other'] }) : readEvent(i)));
    const forged = sealAll(history);
    expect(forged.slice(0, k)).toEqual(events.slice(0, k));
    const r = await verifyLog({ events: forged, checkpoints, verifierKey: key.vkey });
    expect(r).toMatchObject({ ok: false, first_bad_index: 50, verified_size: 50 });
  });

  it('checkpoints re-signed with another key are refused, and the genuine witness copies still catch the forgery', async () => {
    const { key, checkpoints } = setup();
    const mallory = testSigner(ORIGIN);
    const forged = sealAll(Array.from({ length: N }, (_, i) => readEvent(i, { outcome: 'denied' })));
    const rewritten = checkpoints.map((c, k) => ({
      note: mallory.sign((k + 1) * EVERY, rootOf(forged, (k + 1) * EVERY)),
      source: c.source,
    }));
    const witness = checkpoints.map((c) => ({ ...c, source: `witness:${c.source}` }));
    const r = await verifyLog({ events: forged, checkpoints: [...rewritten, ...witness], verifierKey: key.vkey });
    expect(r).toMatchObject({ ok: false, first_bad_index: 0 });
    // Without witness copies: no valid signature at all, so nothing vouches for the log.
    const alone = await verifyLog({ events: forged, checkpoints: rewritten, verifierKey: key.vkey });
    expect(alone.ok).toBe(false);
    expect(alone.reason).toMatch(/no valid signature/);
  });

  it('refuses a checkpoint for another origin, a malformed verifier key and garbage events', async () => {
    const { key, events, checkpoints } = setup();
    const other = testSigner('other.test/log');
    expect((await verifyLog({ events, checkpoints, verifierKey: other.vkey })).ok).toBe(false);
    expect((await verifyLog({ events, checkpoints, verifierKey: 'not-a-key' })).reason).toMatch(/bad verifier key/);
    const junk = [...events];
    junk[5] = Buffer.from('{"hello":1}');
    expect(await verifyLog({ events: junk, checkpoints, verifierKey: key.vkey })).toMatchObject({ ok: false, first_bad_index: 5 });
  });
});
