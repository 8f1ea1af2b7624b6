import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readEvent } from '../support/audit-fixture.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * record() callers in one turn of the event loop share one transaction (group commit), each still
 * answered only after its events are stored; a failure fails them all; a checkpoint found due by
 * many callers at once is signed once.
 */
describe('audit group commit', () => {
  let t: TempVault;
  beforeEach(async () => {
    t = await tempVault({ env: { LABVAULT_AUDIT_CHECKPOINT_EVENTS: '50', LABVAULT_AUDIT_CHECKPOINT_MS: '60000' } });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.cleanup();
  });

  it('commits concurrent callers in one append, and every caller sees its events stored', async () => {
    const { vault } = t;
    const before = (await vault.store.auditHead()).size;
    const append = vi.spyOn(vault.store, 'appendAudit');
    await Promise.all(Array.from({ length: 40 }, (_, i) => vault.audit.record([readEvent(i)])));
    expect(append).toHaveBeenCalledTimes(1);
    expect(append.mock.calls[0]?.[0]).toHaveLength(40);
    expect((await vault.store.auditHead()).size).toBe(before + 40);
    // Callers in later turns get later commits.
    await vault.audit.record([readEvent(100)]);
    expect(append).toHaveBeenCalledTimes(2);
  });

  it('fails every caller of a batch whose commit fails, and stores none of it', async () => {
    const { vault } = t;
    const before = (await vault.store.auditHead()).size;
    vi.spyOn(vault.store, 'appendAudit').mockRejectedValueOnce(new Error('disk full'));
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => vault.audit.record([readEvent(i)])));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect((await vault.store.auditHead()).size).toBe(before);
    await vault.audit.record([readEvent(9)]);
    expect((await vault.store.auditHead()).size).toBe(before + 1);
  });

  it('signs one checkpoint for callers that find it due together', async () => {
    const { vault } = t;
    const before = (await vault.store.listCheckpoints()).length;
    // Four turns of 30 events: the checkpoint rule (50 events) fires in turns 2 and 4 at most.
    for (let turn = 0; turn < 4; turn++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => vault.audit.record([readEvent(turn * 30 + i)])));
    }
    const after = (await vault.store.listCheckpoints()).length;
    expect(after - before).toBeGreaterThanOrEqual(1);
    expect(after - before).toBeLessThanOrEqual(2);
    await vault.audit.close();
    const v = await (await t.reopen()).audit.verify();
    expect(v.ok).toBe(true);
  });
});
