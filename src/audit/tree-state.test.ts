import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../domain/audit-event.js';
import { TreeState } from './tree-state.js';
import { TILE_WIDTH, TileNodes, type TileSource } from './tile-nodes.js';
import { consistencyProof, inclusionProof, rootAt } from './merkle-proofs.js';
import { leafHash, rootOfLeafHashes, verifyConsistency, verifyInclusion } from './verifier/rfc6962.js';
import { decodeEvent } from './event-codec.js';

const event = (i: number): AuditEvent => ({
  time: '2026-11-28T12:00:00.000Z',
  action: 'patient.read',
  outcome: 'allowed',
  principal: { id: `p-${i % 7}`, role: 'pathologist', tenants: ['screening'] },
  tenant: 'screening',
  patients: [`pat-${i}`],
  categories: ['identity'],
  records: 1,
  bytes: 100 + i,
  purpose: 'TREAT',
  origin: { ip: '127.0.0.1', userAgent: null, requestId: `r-${i}` },
  reason: null,
  detail: {},
});

const flip = (b: Buffer): Buffer => {
  const c = Buffer.from(b);
  c[0] = (c[0] ?? 0) ^ 1;
  return c;
};

/** An in-memory store of what seal() produced, as a TileSource. */
function memoryLog() {
  const events: Buffer[] = [];
  const tiles = new Map<string, Buffer>();
  let state = TreeState.empty();
  const source: TileSource = {
    tile: async (l, j) => tiles.get(`${l}/${j}`) ?? null,
    event: async (s) => events[s]!,
  };
  return {
    events,
    source,
    get state() {
      return state;
    },
    append(n: number, reload: boolean) {
      const from = events.length;
      const sealed = state.seal(Array.from({ length: n }, (_, k) => event(from + k)));
      for (const r of sealed.rows) events.push(r.bytes);
      for (const t of sealed.tiles) {
        expect(tiles.has(`${t.level}/${t.index}`)).toBe(false);
        tiles.set(`${t.level}/${t.index}`, t.hashes);
      }
      state = sealed.next;
      return reload ? TreeState.load(events.length, source).then((s) => (state = s)) : Promise.resolve(state);
    },
  };
}

describe('TreeState, tiles and proofs', () => {
  it('appends in batches of any size, reloads from tiles at any size, and agrees with the recursive root', async () => {
    const log = memoryLog();
    const sizes = [1, 2, 3, 13, 16, 17, 1, 255, 256, 30, 1000, 7];
    for (const [k, n] of sizes.entries()) {
      await log.append(n, k % 2 === 0);
      const leaves = log.events.map((e) => leafHash(e));
      expect(log.state.root().equals(rootOfLeafHashes(leaves))).toBe(true);
      expect((await rootAt(new TileNodes(log.source), leaves.length)).equals(rootOfLeafHashes(leaves))).toBe(true);
    }
    // chaining: every event names its predecessor's leaf hash
    for (let i = 1; i < log.events.length; i++) expect(decodeEvent(log.events[i]!).prev.equals(leafHash(log.events[i - 1]!))).toBe(true);
    expect(log.events.length).toBeGreaterThan(TILE_WIDTH ** 2);
  });

  it('produces inclusion and consistency proofs that verify, for every index and size up to 70', async () => {
    const log = memoryLog();
    await log.append(70, false);
    const leaves = log.events.map((e) => leafHash(e));
    for (let size = 1; size <= 70; size++) {
      const nodes = new TileNodes(log.source);
      const root = rootOfLeafHashes(leaves.slice(0, size));
      for (let i = 0; i < size; i++) {
        const proof = await inclusionProof(nodes, i, size);
        expect(verifyInclusion(i, size, leaves[i]!, proof, root)).toBe(true);
        if (i > 0) expect(verifyInclusion(i - 1, size, leaves[i]!, proof, root)).toBe(false);
      }
      for (let first = 1; first <= size; first++) {
        const proof = await consistencyProof(nodes, first, size);
        const firstRoot = rootOfLeafHashes(leaves.slice(0, first));
        expect(verifyConsistency(first, size, firstRoot, root, proof)).toBe(true);
        if (first < size) expect(verifyConsistency(first, size, flip(firstRoot), root, proof)).toBe(false);
      }
    }
  });
});
