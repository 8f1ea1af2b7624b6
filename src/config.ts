import path from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from './domain/errors.js';
import { loadDetectionConfig, type DetectionConfig } from './detection/detection-config.js';
import { INGEST_STAGE_NICE } from './services/thread-priority.js';

/**
 * The only reader of process.env. Flags given on the command line win over environment variables,
 * which win over defaults. Validated once at start-up and frozen; a bad setting stops start-up
 * with a message naming the key. Secrets (the PKCS#11 PIN) are never printed.
 */
export interface Config {
  dataDir: string;
  /** `postgres://…` for PostgreSQL; otherwise the SQLite file path. */
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema: string };
  keyProvider: 'local' | 'pkcs11';
  pkcs11: { modulePath: string; tokenLabel: string; keyLabel: string; pin: string | null; pinFile: string | null };
  /** Audit log: where checkpoint copies go (outside the database), and how often checkpoints are signed. */
  audit: { witnessDir: string; checkpointEvents: number; checkpointMs: number; journal: boolean };
  api: ApiConfig;
  alerts: AlertsConfig;
  /** Inline detection and containment thresholds (src/detection/detection-config.ts). */
  detection: DetectionConfig;
  backup: BackupConfig;
  /** The live store's integrity monitor (src/services/integrity-monitor.ts) under `serve`. */
  integrity: IntegrityConfig;
  /** Bulk ingest: how far below the main thread its parse and seal worker threads run (services/thread-priority.ts). */
  ingest: { stageNice: number };
  debug: boolean;
}

export interface IntegrityConfig {
  /** `serve` re-runs the cheap integrity checks (file header, inode, WAL, schema, audit root) this often. */
  checkMs: number;
}

/** Backups (src/backup): where copies go, how often `serve` takes one, and the erasure ledger. */
export interface BackupConfig {
  /** Root of the content-addressed backup copies; outside the data dir, so ransomware of one is not ransomware of both. */
  dir: string;
  /** A second root every copy is also written to (another disk or mount), or null. */
  secondDir: string | null;
  /** `serve` takes a backup this often (seconds); 0: only by hand. */
  intervalSeconds: number;
  /** Canary patients per tenant planted in each copy only. */
  canariesPerTenant: number;
  /** Append-only list of crypto-shredded patients, kept outside the backups and re-applied on restore. */
  erasureLedger: string;
}

/** Where detection alerts go (issue 5 item 4); both null: alerts only reach the audit log and metrics. */
export interface AlertsConfig {
  /** JSON POST target; may carry a token, so it is redacted in `describeConfig`. */
  webhookUrl: string | null;
  syslog: { transport: 'udp' | 'tcp'; host: string; port: number; format: 'rfc5424' | 'cef' } | null;
}

/** The HTTP server (`labvault serve`): its own token issuer, an optional external IdP, and limits. */
export interface ApiConfig {
  /** `iss` of the tokens labvault issues itself (`labvault principal create`). */
  issuer: string;
  /** `aud` every token must carry, labvault's own and the external IdP's. */
  audience: string;
  /** Lifetime of tokens labvault issues. */
  tokenTtlSeconds: number;
  /** An external OAuth2/OIDC issuer whose JWTs are accepted too (keys from its JWKS), or null. */
  external: { issuer: string; audience: string; jwksUrl: string } | null;
  /** Largest request body accepted (bytes). */
  bodyLimit: number;
  /** Requests per principal per minute before 429. */
  rateLimitPerMinute: number;
  /** Failed authentications per client address per minute before 429 (credential guessing). */
  authFailuresPerMinute: number;
  /** Largest `_count` honoured; larger values are capped, not refused (FHIR search semantics). */
  maxCount: number;
  /** A request still running after this many ms is answered 503. */
  requestTimeoutMs: number;
  /** Longest break-glass window a principal may open. */
  breakGlassMaxMinutes: number;
  /** How long an export job lives from its request: approval and every download must happen within it. */
  exportTtlHours: number;
}

export interface ConfigOverrides {
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
  keyProvider?: string | undefined;
  witnessDir?: string | undefined;
  debug?: boolean | undefined;
}

/** Configuration keys, their environment variables and defaults (also rendered in the README). */
export const CONFIG_TABLE = [
  ['--data-dir', 'LABVAULT_DATA_DIR', './.labvault', 'data directory (SQLite file, keyring, later witness copies)'],
  ['--database-url', 'LABVAULT_DATABASE_URL', 'SQLite file in the data dir', '`postgres://…` selects PostgreSQL'],
  ['', 'LABVAULT_PG_SCHEMA', 'public', 'PostgreSQL schema holding the vault tables'],
  ['--key-provider', 'LABVAULT_KEY_PROVIDER', 'local', '`local` keyring (mode 0600) or `pkcs11` HSM'],
  ['', 'LABVAULT_PKCS11_MODULE', '/usr/lib/softhsm/libsofthsm2.so', 'PKCS#11 module path'],
  ['', 'LABVAULT_PKCS11_TOKEN', 'labvault', 'token label'],
  ['', 'LABVAULT_PKCS11_KEY_LABEL', 'labvault-master', 'label of the AES master key in the token'],
  ['', 'LABVAULT_PKCS11_PIN / LABVAULT_PKCS11_PIN_FILE', '—', 'user PIN, from the environment or a file (never a flag)'],
  ['--witness-dir', 'LABVAULT_AUDIT_WITNESS_DIR', '<data dir>/witness', 'copies of signed audit checkpoints, outside the database'],
  ['', 'LABVAULT_AUDIT_CHECKPOINT_EVENTS', '1000', 'sign a checkpoint after this many new events…'],
  ['', 'LABVAULT_AUDIT_CHECKPOINT_MS', '1000', '…or this many ms after the first unsigned event'],
  ['', 'LABVAULT_AUDIT_JOURNAL', '1', 'ship each checkpoint’s events to the witness too (what a restore re-applies and lists); `0`: off'],
  ['', 'LABVAULT_API_ISSUER', 'urn:labvault:issuer', '`iss` of tokens labvault issues (signing key in the key provider)'],
  ['', 'LABVAULT_API_AUDIENCE', 'urn:labvault:fhir', '`aud` required in every bearer token'],
  ['', 'LABVAULT_API_TOKEN_TTL', '43200', 'lifetime in seconds of tokens labvault issues'],
  ['', 'LABVAULT_OIDC_ISSUER / _AUDIENCE / _JWKS_URL', '—', 'an external identity provider whose JWTs are accepted (all three)'],
  ['', 'LABVAULT_API_BODY_LIMIT', '1048576', 'largest request body in bytes (413 above)'],
  ['', 'LABVAULT_API_RATE_LIMIT', '60000', 'requests per principal per minute (429 with Retry-After above)'],
  ['', 'LABVAULT_API_AUTH_FAILURES', '30', 'failed authentications per client address per minute (429 above)'],
  ['', 'LABVAULT_API_MAX_COUNT', '100', 'cap on a search’s `_count`'],
  ['', 'LABVAULT_API_REQUEST_TIMEOUT_MS', '10000', 'a request running longer is answered 503'],
  ['', 'LABVAULT_BREAK_GLASS_MAX_MINUTES', '60', 'longest break-glass window'],
  ['', 'LABVAULT_EXPORT_TTL_HOURS', '24', 'an export job lives this long from its request (approval and downloads within it)'],
  ['', 'LABVAULT_ALERT_WEBHOOK_URL', '—', 'alerts POSTed as JSON here (retried with backoff)'],
  ['', 'LABVAULT_ALERT_SYSLOG', '—', '`udp://host:port` or `tcp://host:port` of a syslog collector for alerts'],
  ['', 'LABVAULT_ALERT_SYSLOG_FORMAT', 'rfc5424', '`rfc5424` (structured data) or `cef` (CEF:0 line) in the syslog messages'],
  ['', 'LABVAULT_DETECTION_MODE', 'enforce', '`enforce` (contain), `monitor` (alert only, for tuning) or `off`'],
  ['', 'LABVAULT_BACKUP_DIR', '<data dir>.backups', 'root of the content-addressed, read-only backup copies (keep it off the data disk)'],
  ['', 'LABVAULT_BACKUP_SECOND_DIR', '—', 'a second root every backup is also written to'],
  ['', 'LABVAULT_BACKUP_INTERVAL_S', '0', '`serve` takes a backup this often (0: only `labvault backup create`)'],
  ['', 'LABVAULT_BACKUP_CANARIES', '2', 'canary patients per tenant planted in each backup copy only'],
  ['', 'LABVAULT_ERASURE_LEDGER', '<backup dir>/erasures.ndjson', 'crypto-shredded patients, re-applied on every restore'],
  ['', 'LABVAULT_INTEGRITY_CHECK_MS', '2000', '`serve` checks the store’s integrity this often; a failure stops serving (503)'],
  ['', 'LABVAULT_INGEST_STAGE_NICE', '10', 'nice steps the ingest parse and seal threads yield to the writing main thread (0: none)'],
  ['', 'LABVAULT_NATIVE_CRYPTO', '1', '`0`: seal records and MAC their content with node:crypto instead of the native addon'],
  ['', 'LABVAULT_DETECTION_FILE', '—', 'JSON file overriding detection thresholds (caps per role, baseline, enumeration, canaries…)'],
] as const;

const Env = z.object({
  LABVAULT_DATA_DIR: z.string().min(1).optional(),
  LABVAULT_DATABASE_URL: z.string().min(1).optional(),
  LABVAULT_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .optional(),
  LABVAULT_KEY_PROVIDER: z.enum(['local', 'pkcs11']).optional(),
  LABVAULT_PKCS11_MODULE: z.string().min(1).optional(),
  LABVAULT_PKCS11_TOKEN: z.string().min(1).optional(),
  LABVAULT_PKCS11_KEY_LABEL: z.string().min(1).optional(),
  LABVAULT_PKCS11_PIN: z.string().min(1).optional(),
  LABVAULT_PKCS11_PIN_FILE: z.string().min(1).optional(),
  LABVAULT_AUDIT_WITNESS_DIR: z.string().min(1).optional(),
  LABVAULT_BACKUP_DIR: z.string().min(1).optional(),
  LABVAULT_BACKUP_SECOND_DIR: z.string().min(1).optional(),
  LABVAULT_BACKUP_INTERVAL_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(31 * 86_400)
    .optional(),
  LABVAULT_BACKUP_CANARIES: z.coerce.number().int().min(0).max(100).optional(),
  LABVAULT_ERASURE_LEDGER: z.string().min(1).optional(),
  LABVAULT_AUDIT_CHECKPOINT_EVENTS: z.coerce.number().int().min(1).max(10_000_000).optional(),
  LABVAULT_AUDIT_CHECKPOINT_MS: z.coerce.number().int().min(10).max(3_600_000).optional(),
  LABVAULT_AUDIT_JOURNAL: z.enum(['0', '1']).optional(),
  LABVAULT_API_ISSUER: z.string().min(1).optional(),
  LABVAULT_API_AUDIENCE: z.string().min(1).optional(),
  LABVAULT_API_TOKEN_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .max(31 * 86_400)
    .optional(),
  LABVAULT_OIDC_ISSUER: z.string().min(1).optional(),
  LABVAULT_OIDC_AUDIENCE: z.string().min(1).optional(),
  LABVAULT_OIDC_JWKS_URL: z.string().url().optional(),
  LABVAULT_API_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .optional(),
  LABVAULT_API_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000_000).optional(),
  LABVAULT_API_AUTH_FAILURES: z.coerce.number().int().min(1).max(1_000_000).optional(),
  LABVAULT_API_MAX_COUNT: z.coerce.number().int().min(1).max(10_000).optional(),
  LABVAULT_API_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).optional(),
  LABVAULT_BREAK_GLASS_MAX_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .optional(),
  LABVAULT_EXPORT_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .optional(),
  LABVAULT_ALERT_WEBHOOK_URL: z
    .string()
    .url()
    .regex(/^https?:\/\//i, 'must be an http(s) URL')
    .optional(),
  LABVAULT_ALERT_SYSLOG: z
    .string()
    .regex(/^(udp|tcp):\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i, 'expected udp://host:port or tcp://host:port')
    .optional(),
  LABVAULT_ALERT_SYSLOG_FORMAT: z.enum(['rfc5424', 'cef']).optional(),
  LABVAULT_DETECTION_MODE: z.string().optional(),
  LABVAULT_DETECTION_FILE: z.string().min(1).optional(),
  LABVAULT_INTEGRITY_CHECK_MS: z.coerce.number().int().min(100).max(3_600_000).optional(),
  LABVAULT_INGEST_STAGE_NICE: z.coerce.number().int().min(0).max(19).optional(),
  // Read where the addon loads (crypto/record-crypto.ts, in every thread); checked here so a typo is refused, not ignored.
  LABVAULT_NATIVE_CRYPTO: z.enum(['0', '1'], { error: 'expected 0 or 1' }).optional(),
});

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(`bad setting ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(overrides.dataDir ?? e.LABVAULT_DATA_DIR ?? './.labvault');
  const url = overrides.databaseUrl ?? e.LABVAULT_DATABASE_URL;
  let database: Config['database'];
  if (url && /^postgres(ql)?:\/\//.test(url)) database = { kind: 'postgres', url, schema: e.LABVAULT_PG_SCHEMA ?? 'public' };
  else if (url && /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    // Never echo the value: a mistyped scheme would otherwise print the password with it.
    throw new ConfigurationError('bad setting --database-url / LABVAULT_DATABASE_URL: expected postgres://…, sqlite:PATH or a file path');
  } else if (url) database = { kind: 'sqlite', file: path.resolve(url.replace(/^sqlite:/, '')) };
  else database = { kind: 'sqlite', file: path.join(dataDir, 'vault.db') };
  const kp = overrides.keyProvider ?? e.LABVAULT_KEY_PROVIDER ?? 'local';
  if (kp !== 'local' && kp !== 'pkcs11') throw new ConfigurationError(`bad setting --key-provider: expected local or pkcs11`);
  return Object.freeze({
    dataDir,
    database,
    keyProvider: kp,
    pkcs11: {
      modulePath: e.LABVAULT_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: e.LABVAULT_PKCS11_TOKEN ?? 'labvault',
      keyLabel: e.LABVAULT_PKCS11_KEY_LABEL ?? 'labvault-master',
      pin: e.LABVAULT_PKCS11_PIN ?? null,
      pinFile: e.LABVAULT_PKCS11_PIN_FILE ?? null,
    },
    audit: {
      witnessDir: path.resolve(overrides.witnessDir ?? e.LABVAULT_AUDIT_WITNESS_DIR ?? path.join(dataDir, 'witness')),
      checkpointEvents: e.LABVAULT_AUDIT_CHECKPOINT_EVENTS ?? 1000,
      checkpointMs: e.LABVAULT_AUDIT_CHECKPOINT_MS ?? 1000,
      journal: e.LABVAULT_AUDIT_JOURNAL !== '0',
    },
    api: apiConfig(e),
    alerts: alertsConfig(e),
    detection: loadDetectionConfig(e.LABVAULT_DETECTION_MODE, e.LABVAULT_DETECTION_FILE),
    backup: backupConfig(e, dataDir),
    integrity: { checkMs: e.LABVAULT_INTEGRITY_CHECK_MS ?? 2000 },
    ingest: { stageNice: e.LABVAULT_INGEST_STAGE_NICE ?? INGEST_STAGE_NICE },
    debug: overrides.debug ?? false,
  });
}

function apiConfig(e: z.infer<typeof Env>): ApiConfig {
  const oidc = [e.LABVAULT_OIDC_ISSUER, e.LABVAULT_OIDC_AUDIENCE, e.LABVAULT_OIDC_JWKS_URL];
  if (oidc.some((v) => v !== undefined) && !oidc.every((v) => v !== undefined)) {
    throw new ConfigurationError(
      'bad setting LABVAULT_OIDC_*: set LABVAULT_OIDC_ISSUER, LABVAULT_OIDC_AUDIENCE and LABVAULT_OIDC_JWKS_URL together',
    );
  }
  return {
    issuer: e.LABVAULT_API_ISSUER ?? 'urn:labvault:issuer',
    audience: e.LABVAULT_API_AUDIENCE ?? 'urn:labvault:fhir',
    tokenTtlSeconds: e.LABVAULT_API_TOKEN_TTL ?? 43_200,
    external:
      e.LABVAULT_OIDC_ISSUER && e.LABVAULT_OIDC_AUDIENCE && e.LABVAULT_OIDC_JWKS_URL
        ? { issuer: e.LABVAULT_OIDC_ISSUER, audience: e.LABVAULT_OIDC_AUDIENCE, jwksUrl: e.LABVAULT_OIDC_JWKS_URL }
        : null,
    bodyLimit: e.LABVAULT_API_BODY_LIMIT ?? 1_048_576,
    rateLimitPerMinute: e.LABVAULT_API_RATE_LIMIT ?? 60_000,
    authFailuresPerMinute: e.LABVAULT_API_AUTH_FAILURES ?? 30,
    maxCount: e.LABVAULT_API_MAX_COUNT ?? 100,
    requestTimeoutMs: e.LABVAULT_API_REQUEST_TIMEOUT_MS ?? 10_000,
    breakGlassMaxMinutes: e.LABVAULT_BREAK_GLASS_MAX_MINUTES ?? 60,
    exportTtlHours: e.LABVAULT_EXPORT_TTL_HOURS ?? 24,
  };
}

function backupConfig(e: z.infer<typeof Env>, dataDir: string): BackupConfig {
  const dir = path.resolve(e.LABVAULT_BACKUP_DIR ?? `${dataDir}.backups`);
  return {
    dir,
    secondDir: e.LABVAULT_BACKUP_SECOND_DIR ? path.resolve(e.LABVAULT_BACKUP_SECOND_DIR) : null,
    intervalSeconds: e.LABVAULT_BACKUP_INTERVAL_S ?? 0,
    canariesPerTenant: e.LABVAULT_BACKUP_CANARIES ?? 2,
    erasureLedger: path.resolve(e.LABVAULT_ERASURE_LEDGER ?? path.join(dir, 'erasures.ndjson')),
  };
}

function alertsConfig(e: z.infer<typeof Env>): AlertsConfig {
  const target = e.LABVAULT_ALERT_SYSLOG;
  if (target === undefined && e.LABVAULT_ALERT_SYSLOG_FORMAT !== undefined) {
    throw new ConfigurationError('bad setting LABVAULT_ALERT_SYSLOG_FORMAT: needs LABVAULT_ALERT_SYSLOG');
  }
  let syslog: AlertsConfig['syslog'] = null;
  if (target !== undefined) {
    const m = /^(udp|tcp):\/\/(?:\[([^\]]+)\]|([^:]+)):(\d+)$/i.exec(target);
    const port = Number(m?.[4]);
    if (!m || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new ConfigurationError('bad setting LABVAULT_ALERT_SYSLOG: expected udp://host:port or tcp://host:port (port 1–65535)');
    }
    const transport = m[1]?.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
    syslog = { transport, host: m[2] ?? m[3] ?? '', port, format: e.LABVAULT_ALERT_SYSLOG_FORMAT ?? 'rfc5424' };
  }
  return { webhookUrl: e.LABVAULT_ALERT_WEBHOOK_URL ?? null, syslog };
}

/** Redacted view for `--debug` output and logs. */
export function describeConfig(c: Config): Record<string, unknown> {
  return {
    dataDir: c.dataDir,
    database: c.database.kind === 'postgres' ? { kind: 'postgres', url: redactUrl(c.database.url), schema: c.database.schema } : c.database,
    keyProvider: c.keyProvider,
    pkcs11: { ...c.pkcs11, pin: c.pkcs11.pin ? '***' : null },
    audit: c.audit,
    api: c.api,
    // The webhook's path and query often carry the receiver's token: show only where it goes.
    alerts: { ...c.alerts, webhookUrl: c.alerts.webhookUrl === null ? null : `${new URL(c.alerts.webhookUrl).origin}/***` },
    detection: c.detection,
    backup: c.backup,
    integrity: c.integrity,
    ingest: c.ingest,
  };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
