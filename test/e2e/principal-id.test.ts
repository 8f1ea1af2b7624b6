import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/domain/errors.js';
import { CTX } from '../support/context.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

describe('principal ids', () => {
  let tv: TempVault;
  beforeAll(async () => {
    tv = await tempVault();
  });
  afterAll(async () => {
    await tv.cleanup();
  });

  it('refuses an explicit id that looks like a BSN with a clear reason, and creates nothing', async () => {
    // An identity provider's random GUID holding 111222333, a run that passes the 11-proof.
    const id = 'c0ffee00-1234-4abc-8def-111222333aaa';
    const err = await tv.vault.principals.create(CTX, { id, name: 'sso user', role: 'admin', tenants: ['*'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toMatch(/^id: looks like a BSN/);
    expect((err as Error).message).not.toContain('111222333');
    expect(await tv.vault.store.getPrincipal(id)).toBeNull();
    const ok = await tv.vault.principals.create(CTX, {
      id: 'c0ffee00-1234-4abc-8def-aaaabbbbcccc',
      name: 'sso user',
      role: 'admin',
      tenants: ['*'],
    });
    expect(ok.principal.id).toBe('c0ffee00-1234-4abc-8def-aaaabbbbcccc');
  });
});
