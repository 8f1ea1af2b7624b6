import type { Observation } from '../../src/domain/detection.js';
import type { Role } from '../../src/domain/principal.js';

/** What detection sees of one read, with quiet defaults: a read by id of nothing, by `u-<role>`. */
export function observation(role: Role, at: number, over: Partial<Observation> = {}): Observation {
  return {
    at,
    principal: { id: `u-${role}`, role, tenants: ['screening'] },
    ip: '10.0.0.1',
    tenant: 'screening',
    action: 'patient.read',
    kind: 'read',
    patients: [],
    records: 0,
    bytes: 0,
    miss: false,
    requestedId: null,
    broad: false,
    exportId: null,
    breakGlass: false,
    ...over,
  };
}
