/**
 * The canary patients living in the vault, per tenant, held in memory once unsealed from the
 * registry: a read's patients are checked against it in the request path. Only the detector and
 * the export path consult it; nothing answers a client differently for a canary until it is read.
 */
export class CanaryIndex {
  private readonly byTenant = new Map<string, Set<string>>();

  add(tenantId: string, patients: Iterable<string>): void {
    let s = this.byTenant.get(tenantId);
    if (!s) this.byTenant.set(tenantId, (s = new Set()));
    for (const p of patients) s.add(p);
  }

  has(tenantId: string, patientId: string): boolean {
    return this.byTenant.get(tenantId)?.has(patientId) ?? false;
  }

  count(tenantId: string, patients: readonly string[]): number {
    const s = this.byTenant.get(tenantId);
    if (!s) return 0;
    let n = 0;
    for (const p of patients) if (s.has(p)) n++;
    return n;
  }

  size(tenantId?: string): number {
    if (tenantId !== undefined) return this.byTenant.get(tenantId)?.size ?? 0;
    let n = 0;
    for (const s of this.byTenant.values()) n += s.size;
    return n;
  }
}
