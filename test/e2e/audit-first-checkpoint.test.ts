import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readEvent } from '../support/audit-fixture.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * A new log is witnessed from its first commit, not after the first checkpointMs or N events:
 * until the witness holds a checkpoint, `audit verify` cannot tell a crash from a log forged from
 * scratch, so a power cut in a new vault's first second left it failing verification.
 */
describe('the first commit of a new audit log', () => {
  let t: TempVault;
  beforeEach(async () => {
    // Both rules far away: only the first-commit rule can sign here.
    t = await tempVault({ env: { LABVAULT_AUDIT_CHECKPOINT_EVENTS: '1000000', LABVAULT_AUDIT_CHECKPOINT_MS: '3600000' } });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('is signed and witnessed before the caller is answered, so the log verifies without a close', async () => {
    const { vault } = t;
    expect((await vault.store.auditHead()).size).toBe(0);
    expect(await vault.store.listCheckpoints()).toEqual([]);
    await vault.audit.record([readEvent(0), readEvent(1)]);
    const stored = await vault.store.listCheckpoints();
    expect(stored.map((c) => c.size)).toEqual([2]);
    expect((await vault.audit.witness.list()).length).toBeGreaterThan(0);
    // As after a crash: nothing closed the log.
    const v = await vault.audit.verify();
    expect(v).toMatchObject({ ok: true, events: 2, unsigned_tail: 0 });
  });

  it('only the first: later commits wait for the usual rules', async () => {
    const { vault } = t;
    await vault.audit.record([readEvent(0)]);
    await vault.audit.record([readEvent(1)]);
    await vault.audit.record([readEvent(2)]);
    expect((await vault.store.listCheckpoints()).map((c) => c.size)).toEqual([1]);
    const v = await vault.audit.verify();
    expect(v).toMatchObject({ ok: true, events: 3, unsigned_tail: 2 });
  });
});
