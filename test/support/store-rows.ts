import { randomBytes } from 'node:crypto';
import type { PatientRow } from '../../src/ports/vault-store.js';

/** Store-level test rows: random bytes stand in for ciphertexts, since these tests exercise the store, not crypto. */
export const AT = '2024-03-01T10:00:00.000Z';

export function patientRow(tenantId: string, id: string, kekVersion = 1, over: Partial<PatientRow> = {}): PatientRow {
  return {
    tenantId,
    id,
    version: 1,
    kekVersion,
    wrappedDek: randomBytes(60),
    bsnIndex: randomBytes(32),
    nameIndex: randomBytes(32),
    contentMac: randomBytes(32),
    identity: randomBytes(200),
    createdAt: AT,
    erasedAt: null,
    ...over,
  };
}
