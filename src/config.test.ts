import { describe, expect, it } from 'vitest';
import { ConfigurationError } from './domain/errors.js';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('selects SQLite in the data dir by default and PostgreSQL for postgres:// URLs', () => {
    expect(loadConfig({ dataDir: '/tmp/x' }, {}).database).toEqual({ kind: 'sqlite', file: '/tmp/x/vault.db' });
    expect(loadConfig({}, { LABVAULT_DATABASE_URL: 'postgres://u@h/db', LABVAULT_PG_SCHEMA: 'lv' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@h/db',
      schema: 'lv',
    });
  });

  it('refuses a mistyped URL scheme without echoing it (it may hold a password)', () => {
    let err: unknown;
    try {
      loadConfig({ databaseUrl: 'postgress://admin:s3cret@db/vault' }, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/--database-url/);
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('names the bad setting', () => {
    expect(() => loadConfig({}, { LABVAULT_KEY_PROVIDER: 'usb-stick' })).toThrow(/LABVAULT_KEY_PROVIDER/);
    expect(() => loadConfig({}, { LABVAULT_PG_SCHEMA: 'Robert"; DROP' })).toThrow(/LABVAULT_PG_SCHEMA/);
  });

  it('checks the store every 2 s unless LABVAULT_INTEGRITY_CHECK_MS says otherwise, and refuses nonsense', () => {
    expect(loadConfig({}, {}).integrity.checkMs).toBe(2000);
    expect(loadConfig({}, { LABVAULT_INTEGRITY_CHECK_MS: '500' }).integrity.checkMs).toBe(500);
    expect(() => loadConfig({}, { LABVAULT_INTEGRITY_CHECK_MS: '0' })).toThrow(/LABVAULT_INTEGRITY_CHECK_MS/);
    expect(() => loadConfig({}, { LABVAULT_INTEGRITY_CHECK_MS: 'often' })).toThrow(/LABVAULT_INTEGRITY_CHECK_MS/);
  });

  it('runs the ingest stages 10 nice steps below the main thread unless LABVAULT_INGEST_STAGE_NICE says otherwise (0: none)', () => {
    expect(loadConfig({}, {}).ingest.stageNice).toBe(10);
    expect(loadConfig({}, { LABVAULT_INGEST_STAGE_NICE: '0' }).ingest.stageNice).toBe(0);
    expect(() => loadConfig({}, { LABVAULT_INGEST_STAGE_NICE: '20' })).toThrow(/LABVAULT_INGEST_STAGE_NICE/);
    expect(() => loadConfig({}, { LABVAULT_INGEST_STAGE_NICE: '-5' })).toThrow(/LABVAULT_INGEST_STAGE_NICE/);
  });

  it('accepts LABVAULT_NATIVE_CRYPTO 0 or 1 and refuses anything else rather than ignore it', () => {
    expect(() => loadConfig({}, { LABVAULT_NATIVE_CRYPTO: '0' })).not.toThrow();
    expect(() => loadConfig({}, { LABVAULT_NATIVE_CRYPTO: '1' })).not.toThrow();
    expect(() => loadConfig({}, { LABVAULT_NATIVE_CRYPTO: 'off' })).toThrow(/LABVAULT_NATIVE_CRYPTO/);
  });
});
