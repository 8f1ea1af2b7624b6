import { promises as fs } from 'node:fs';
import type { Config } from './config.js';
import { ConfigurationError } from './domain/errors.js';
import { KeyHierarchy } from './crypto/key-hierarchy.js';
import { LocalKeyring } from './keys/local-keyring.js';
import { systemClock, type Clock } from './ports/clock.js';
import type { KeyProvider } from './ports/key-provider.js';
import type { VaultStore } from './ports/vault-store.js';
import { IngestService } from './services/ingest-service.js';
import { KeyAdmin } from './services/key-admin.js';
import { ErasureLedger } from './backup/erasure-ledger.js';
import { BackupService } from './backup/backup-service.js';
import { VaultReader } from './services/vault-reader.js';
import { SqliteVaultStore } from './storage/sqlite/sqlite-vault-store.js';
import { AuditLog } from './audit/audit-log.js';
import { DirectoryWitness } from './witness/directory-witness.js';
import { TokenIssuer } from './access/token-issuer.js';
import { BreakGlass } from './services/break-glass.js';
import { ExportService } from './services/export-service.js';
import { PrincipalAdmin } from './services/principal-admin.js';
import { createAlertSinks } from './alerts/alert-sinks.js';
import { AlertCounters } from './alerts/alert-counters.js';
import { CanaryIndex } from './detection/canary-index.js';
import { Detector } from './detection/detector.js';
import { Explainer } from './detection/explainer.js';
import { CanaryService } from './services/canary-service.js';
import { ContainmentService } from './services/containment-service.js';
import { IncidentRegister } from './services/incident-register.js';
import { IncidentLetters } from './services/incident-letters.js';
import { LeakScanService } from './services/leak-scan.js';
import { IncidentNotices } from './services/incident-notices.js';
import { ObligationReminders } from './services/obligation-reminders.js';
import type { ScopeSources } from './incidents/scope.js';
import type { AlertSink } from './ports/alert-sink.js';

/**
 * Composition root: the only place that picks adapters from configuration. Entry points (CLI,
 * later the HTTP server) get a Vault and call its services.
 */
export interface Vault {
  config: Readonly<Config>;
  store: VaultStore;
  provider: KeyProvider;
  keys: KeyHierarchy;
  audit: AuditLog;
  ingest: IngestService;
  reader: VaultReader;
  keyAdmin: KeyAdmin;
  clock: Clock;
  /** labvault's own token issuer (signing key in the key provider). */
  issuer: TokenIssuer;
  principals: PrincipalAdmin;
  breakGlass: BreakGlass;
  exports: ExportService;
  /** Inline detection on every read (null-free: mode `off` makes it a no-op). */
  detector: Detector;
  containment: ContainmentService;
  canaries: CanaryService;
  incidents: IncidentRegister;
  notices: IncidentNotices;
  letters: IncidentLetters;
  leaks: LeakScanService;
  /** Deadline reminders through the alert sinks (`serve` runs `tick()` every minute). */
  reminders: ObligationReminders;
  /** Backup copies (src/backup): create; verify and restore are functions over a copy. */
  backups: BackupService;
  alertCounters: AlertCounters;
  close(): Promise<void>;
  /**
   * For a store that failed its integrity check: releases keys and sinks without a final audit
   * checkpoint and, on SQLite, without the explicit WAL fold (see SqliteVaultStore.abandon).
   */
  abandon(): Promise<void>;
}

export interface OpenOptions {
  /** Create the data dir, keyring/master key and schema when missing (`labvault init`). */
  create?: boolean;
  clock?: Clock;
  /** Open the audit log read-only: no events, no checkpoints (audit verify). */
  auditReadOnly?: boolean;
  /** A long-running server: SQLite checkpoints its WAL in a worker thread, off the request path. */
  server?: boolean;
  /** Where background failures (alert delivery, baseline saves) are reported; default: one line on stderr. */
  onError?: (what: string, e: unknown) => void;
  /** Replaces the configured alert sinks (tests capture alerts). */
  alertSink?: AlertSink;
}

export async function openVault(config: Readonly<Config>, opts: OpenOptions = {}): Promise<Vault> {
  const clock = opts.clock ?? systemClock;
  if (opts.create) {
    await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  }
  const provider = await openKeyProvider(config, opts.create ?? false);
  let store: VaultStore;
  try {
    store = await openStore(config, opts.create ?? false);
    if (opts.server && store instanceof SqliteVaultStore) store.startBackgroundCheckpoints();
  } catch (e) {
    await provider.close();
    throw e;
  }
  let audit: AuditLog;
  try {
    audit = await AuditLog.open(store, provider, (origin) => new DirectoryWitness(config.audit.witnessDir, origin), clock, {
      ...config.audit,
      readOnly: opts.auditReadOnly ?? false,
    });
  } catch (e) {
    await store.close();
    await provider.close();
    throw e;
  }
  const keys = new KeyHierarchy(store, provider);
  let issuer: TokenIssuer;
  try {
    issuer = new TokenIssuer(await provider.tokenSigner(), config.api.issuer, config.api.audience);
  } catch (e) {
    await audit.close().catch(() => undefined);
    await store.close();
    await provider.close();
    throw e;
  }
  const onError =
    opts.onError ??
    ((what: string, e: unknown) => process.stderr.write(`labvault: ${what}: ${e instanceof Error ? e.message : String(e)}\n`));
  const alertCounters = new AlertCounters();
  const sink = opts.alertSink ?? createAlertSinks(config.alerts, { counters: alertCounters, onError });
  const detection = config.detection;
  const canaryIndex = new CanaryIndex();
  const forget = (principalId: string): void => detector.forget(principalId);
  const containment = new ContainmentService(store, audit, clock, detection, sink, onError, forget);
  const explainer = new Explainer(
    {
      newestOrderDate: (t) => store.newestOrderDate(t),
      hasOrderSince: async (t, p, date) =>
        (await store.searchResources(t, { type: 'ServiceRequest', patientId: p, dateFrom: date, limit: 1 })).length > 0,
    },
    detection.unexplained.recentDays,
  );
  const detector: Detector = new Detector(detection, clock, canaryIndex, explainer, store, containment, onError);
  const reader = new VaultReader(store, keys, audit, detector);
  const ingest = new IngestService(store, keys, clock, audit, config.ingest.stageNice);
  const canaries = new CanaryService(store, keys, ingest, audit, clock, canaryIndex, detection.unexplained.recentDays);
  if (detection.mode !== 'off' && !opts.auditReadOnly) {
    try {
      await containment.refresh(true);
      await canaries.load();
    } catch (e) {
      await audit.close().catch(() => undefined);
      keys.close();
      await store.close();
      await provider.close();
      throw e;
    }
  }
  const scopeSources: ScopeSources = {
    audit: store,
    tenants: async () => (await store.listTenants()).map((t) => t.id),
    patientIds: async (t) => {
      const out: string[] = [];
      for (let after = ''; ;) {
        const page = await store.listPatientIds(t, after, 10_000);
        out.push(...page);
        if (page.length < 10_000) return out;
        after = page[page.length - 1] as string;
      }
    },
    recordCount: async (t) => (await store.countResources()).filter((c) => c.tenantId === t).reduce((n, c) => n + c.count, 0),
    canaries: async (t) =>
      new Set((await canaries.unsealedSets(t)).filter((s) => s.set.copyKind === 'tenant').flatMap((s) => s.patients.map((p) => p.id))),
  };
  const incidents = new IncidentRegister(store, audit, clock, true, scopeSources);
  return {
    config,
    store,
    provider,
    keys,
    audit,
    ingest,
    reader,
    keyAdmin: new KeyAdmin(store, keys, clock, audit, new ErasureLedger(config.backup.erasureLedger)),
    clock,
    issuer,
    principals: new PrincipalAdmin(store, issuer, clock, audit, config.api),
    breakGlass: new BreakGlass(store, clock, audit, config.api.breakGlassMaxMinutes),
    exports: new ExportService(store, reader, clock, audit, config.api.exportTtlHours, containment, canaries, detection.canaries.perExport),
    detector,
    containment,
    canaries,
    incidents,
    notices: new IncidentNotices(store, incidents, reader, clock),
    letters: new IncidentLetters(store, incidents, reader, clock),
    leaks: new LeakScanService(
      store,
      (t) => keys.indexKey(t),
      async () => (await canaries.unsealedSets()).map((s) => ({ set: s.set, patients: s.patients.map((p) => ({ id: p.id, bsn: p.bsn })) })),
      incidents,
      audit,
    ),
    reminders: new ObligationReminders(incidents, sink, clock, onError),
    backups: new BackupService({
      config: config.backup,
      store,
      provider,
      audit,
      canaries,
      clock,
      postgres: config.database.kind === 'postgres' ? { url: config.database.url, schema: config.database.schema } : null,
    }),
    alertCounters,
    async close() {
      // The final checkpoint covers this process's last events; the store closes even if it fails.
      try {
        await sink.close().catch(() => undefined);
        await audit.close();
      } finally {
        keys.close();
        await store.close();
        await provider.close();
      }
    },
    async abandon() {
      audit.abandon();
      try {
        await sink.close().catch(() => undefined);
      } finally {
        keys.close();
        if (store instanceof SqliteVaultStore) await store.abandon();
        else await store.close();
        await provider.close();
      }
    },
  };
}

export async function openKeyProvider(config: Readonly<Config>, create: boolean): Promise<KeyProvider> {
  if (config.keyProvider === 'local') {
    if (create) await LocalKeyring.create(config.dataDir);
    return LocalKeyring.open(config.dataDir);
  }
  const { Pkcs11KeyProvider } = await import('./keys/pkcs11-provider.js');
  const pin = config.pkcs11.pin ?? (config.pkcs11.pinFile ? await readPinFile(config.pkcs11.pinFile) : null);
  if (!pin) throw new ConfigurationError('LABVAULT_PKCS11_PIN or LABVAULT_PKCS11_PIN_FILE is required for --key-provider pkcs11');
  return Pkcs11KeyProvider.open({
    modulePath: config.pkcs11.modulePath,
    tokenLabel: config.pkcs11.tokenLabel,
    keyLabel: config.pkcs11.keyLabel,
    pin,
    createIfMissing: create,
  });
}

async function openStore(config: Readonly<Config>, create: boolean): Promise<VaultStore> {
  let store: VaultStore;
  if (config.database.kind === 'postgres') {
    const { PostgresVaultStore } = await import('./storage/postgres/postgres-vault-store.js');
    store = await PostgresVaultStore.connect({ url: config.database.url, schema: config.database.schema });
  } else {
    if (!create) {
      try {
        await fs.access(config.database.file);
      } catch (cause) {
        throw new ConfigurationError(`no vault at ${config.database.file}: run 'labvault init' first`, { cause });
      }
    }
    store = new SqliteVaultStore(config.database.file);
  }
  // Migrating on every open keeps an upgraded binary working on an older vault without a manual step.
  await store.migrate();
  return store;
}

async function readPinFile(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (cause) {
    throw new ConfigurationError(`bad setting LABVAULT_PKCS11_PIN_FILE: cannot read ${file}`, { cause });
  }
}
