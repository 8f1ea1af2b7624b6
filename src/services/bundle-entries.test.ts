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

  it('masks the digit run of a UUID that looks like a BSN, the same on every send, with references following', () => {
    expect(containsBsnLike(BSN_LIKE_UUID)).toBe(true);
    const [p, sr] = bundleEntries(bundle(BSN_LIKE_UUID)) as Record<string, unknown>[];
    expect(p?.id).toBe('c0ffee00-1234-4abc-8def-xxxxxxxxxaaa');
    expect(sr?.subject).toEqual({ reference: 'Patient/c0ffee00-1234-4abc-8def-xxxxxxxxxaaa' });
    const [again] = bundleEntries(bundle(BSN_LIKE_UUID)) as Record<string, unknown>[];
    expect(again?.id).toBe(p?.id);
  });

  it('keeps what is not a UUID as it is, so validation refuses a BSN given as a urn:uuid', () => {
    for (const v of ['123456782', 'BSN 123456782 Jansen', '12345678-2123-4567-8901-12345678']) expect(idForUuid(v)).toBe(v);
  });

  it('never returns a BSN-like id for a UUID, whichever group holds the run', () => {
    let masked = 0;
    for (let i = 0; i < 40_000; i++) {
      const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
      const digits = String(100_000_000 + i * 7919).padStart(12, '0');
      const uuid = i % 2 === 0 ? `${digits.slice(0, 8)}-0000-4000-8000-${hex(i, 12)}` : `${hex(i, 8)}-0000-4000-8000-${digits}`;
      if (!containsBsnLike(uuid)) continue;
      masked++;
      expect(containsBsnLike(idForUuid(uuid)), uuid).toBe(false);
    }
    expect(masked).toBeGreaterThan(100);
  });
});
