import { decodeEvent } from '../../src/audit/event-codec.js';
import type { AuditEvent } from '../../src/domain/audit-event.js';
import type { AuditQuery } from '../../src/ports/audit-store.js';
import type { VaultStore } from '../../src/ports/vault-store.js';

/** Decoded audit events matching a query (tests read what the log says, not what the code meant). */
export async function auditEvents(
  store: VaultStore,
  q: Omit<AuditQuery, 'limit'> & { limit?: number },
): Promise<(AuditEvent & { seq: number })[]> {
  const rows = await store.queryAudit({ limit: 100_000, ...q });
  return rows.map((r) => ({ ...decodeEvent(r.bytes).event, seq: r.seq }));
}
