import { describe, expect, it } from 'vitest';
import { containsBsnLike } from '../domain/validate-resource.js';
import { bundleEntries, idForUuid } from './bundle-entries.js';

// A random-looking uuid whose last group holds 111222333, a run that passes the 11-proof.
const BSN_LIKE_UUID = 'c0ffee00-1234-4abc-8def-111222333aaa';
const PLAIN_UUID = 'c0ffee00-1234-4abc-8def-aaaabbbbcccc';

function bundle(patientUuid: string): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: `urn:uuid:${patientUuid}`, resource: { resourceType: 'Patient' } },
      {
        fullUrl: `urn:uuid:${PLAIN_UUID}`,
        resource: { resourceType: 'ServiceRequest', subject: { reference: `urn:uuid:${patientUuid}` } },
      },
    ],
  };
}

describe('bundleEntries', () => {
  it('uses an ordinary urn:uuid as the id and points references at it', () => {
    const [p, sr] = bundleEntries(bundle('0e1f2a3b-4c5d-4e6f-8a9b-abcdefabcdef')) as Record<string, unknown>[];
    expect(p?.id).toBe('0e1f2a3b-4c5d-4e6f-8a9b-abcdefabcdef');
    expect(sr?.id).toBe(PLAIN_UUID);
    expect(sr?.subject).toEqual({ reference: 'Patient/0e1f2a3b-4c5d-4e6f-8a9b-abcdefabcdef' });
  });

  it('gives a uuid that looks like a BSN a stand-in id, the same on every send, with references following', () => {
    expect(containsBsnLike(BSN_LIKE_UUID)).toBe(true);
    const [p, sr] = bundleEntries(bundle(BSN_LIKE_UUID)) as Record<string, unknown>[];
    const id = p?.id as string;
    expect(id).not.toBe(BSN_LIKE_UUID);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(containsBsnLike(id)).toBe(false);
    expect(sr?.subject).toEqual({ reference: `Patient/${id}` });
    const [again] = bundleEntries(bundle(BSN_LIKE_UUID)) as Record<string, unknown>[];
    expect(again?.id).toBe(id);
  });

  it('never returns a BSN-like id, over many uuids that need a stand-in', () => {
    let needed = 0;
    for (let i = 0; i < 20_000 && needed < 50; i++) {
      const uuid = `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${String(100_000_000 + i * 7).padStart(12, '0')}`;
      if (!containsBsnLike(uuid)) continue;
      needed++;
      expect(containsBsnLike(idForUuid(uuid)), uuid).toBe(false);
    }
    expect(needed).toBe(50);
  });
});
