import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../../src/audit/event-codec.js';
import type { verifyLog as VerifyLog } from '../../src/audit/verifier/verify-log.js';
import { readEvent, rootOf, sealAll, testSigner } from '../support/audit-fixture.js';

/**
 * The verifier's parallel mode (worker threads, compiled to dist/) must give exactly the answers
 * of the single-threaded scan, however the log is cut into runs: same first bad index, same reason.
 */
const { verifyLog } = (await import(pathToFileURL(path.resolve('dist/audit/verifier/verify-log.js')).href)) as {
  verifyLog: typeof VerifyLog;
};

const N = 1000;
const NL = Buffer.from('\n');
const key = testSigner('labvault.test/parallel');
const events = sealAll(Array.from({ length: N }, (_, i) => readEvent(i)));
const sizes = Array.from({ length: Math.floor(N / 37) }, (_, k) => (k + 1) * 37).concat([64, 128, 512, N]);
const checkpoints = [...new Set(sizes)].map((s) => ({ note: key.sign(s, rootOf(events, s)), source: `store:${s}` }));

function edit(i: number): Buffer[] {
  const out = [...events];
  const d = decodeEvent(events[i]!);
  out[i] = encodeEvent(d.seq, d.prev, { ...d.event, outcome: 'denied' });
  return out;
}

const attacks: [string, Buffer[]][] = [
  ['intact', events],
  ['edit at a run boundary', edit(127)],
  ['edit inside a run', edit(300)],
  ['edit of the first event of a run', edit(128)],
  ['delete', [...events.slice(0, 256), ...events.slice(257)]],
  ['swap', events.map((e, i) => (i === 65 ? events[700]! : i === 700 ? events[65]! : e))],
  ['truncate', events.slice(0, 600)],
  ['rehashed history', sealAll(Array.from({ length: N }, (_, i) => readEvent(i, i >= 450 ? { outcome: 'denied' } : {})))],
];

describe('parallel verifier', () => {
  it.each(attacks)('%s: workers and any run size agree with the single-threaded scan', async (_name, evs) => {
    const base = await verifyLog({ events: evs, checkpoints, verifierKey: key.vkey });
    for (const opts of [{ chunk: 64 }, { chunk: 64, workers: 2 }, { chunk: 16, workers: 2 }, { workers: 2 }]) {
      expect(await verifyLog({ events: [evs], checkpoints, verifierKey: key.vkey, ...opts }), JSON.stringify(opts)).toEqual(base);
      // Packed NDJSON (as read from an export), cut into items that do not line up with runs.
      const packed = [0, 37, 300, 301, 777].map((from, k, cuts) => ({
        ndjson: Buffer.concat(evs.slice(from, cuts[k + 1] ?? evs.length).flatMap((e) => [e, NL])),
      }));
      expect(await verifyLog({ events: packed, checkpoints, verifierKey: key.vkey, ...opts }), `packed ${JSON.stringify(opts)}`).toEqual(
        base,
      );
    }
    expect(base.ok).toBe(evs === events);
  });
});
