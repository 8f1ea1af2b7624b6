/**
 * Schema migrations, one list for both backends so they cannot drift. Each step runs in a
 * transaction together with its row in schema_migrations. Append only: never edit a shipped step.
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

// `txt` is COLLATE "C" on PostgreSQL so ORDER BY id and `id > $after` paging compare bytes exactly
// as SQLite does, whatever the database's default locale (en_US puts 'b' before 'C'; bytes do not).
const tenantsAndKeys = (blob: string, ts: string, txt: string): string => `
CREATE TABLE tenants (
  id ${txt} PRIMARY KEY,
  doc ${txt} NOT NULL,
  created_at ${ts} NOT NULL
);
CREATE TABLE tenant_keys (
  tenant_id ${txt} NOT NULL REFERENCES tenants(id),
  version INTEGER NOT NULL,
  wrapped_kek ${blob},
  master_key_id ${txt} NOT NULL,
  state ${txt} NOT NULL CHECK (state IN ('active', 'retired', 'destroyed')),
  created_at ${ts} NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
CREATE TABLE tenant_index_keys (
  tenant_id ${txt} PRIMARY KEY REFERENCES tenants(id),
  wrapped_key ${blob} NOT NULL,
  master_key_id ${txt} NOT NULL
);
CREATE TABLE patients (
  tenant_id ${txt} NOT NULL REFERENCES tenants(id),
  id ${txt} NOT NULL,
  version INTEGER NOT NULL,
  kek_version INTEGER NOT NULL,
  wrapped_dek ${blob},
  bsn_idx ${blob},
  name_idx ${blob},
  content_mac ${blob},
  identity ${blob},
  created_at ${ts} NOT NULL,
  erased_at ${ts},
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX patients_bsn_idx ON patients (bsn_idx);
CREATE INDEX patients_name_idx ON patients (tenant_id, name_idx);
CREATE INDEX patients_kek ON patients (tenant_id, kek_version, id);
CREATE TABLE resources (
  tenant_id ${txt} NOT NULL,
  type ${txt} NOT NULL,
  id ${txt} NOT NULL,
  version INTEGER NOT NULL,
  patient_id ${txt} NOT NULL,
  status ${txt},
  code ${txt},
  effective_date ${txt},
  content_mac ${blob} NOT NULL,
  body ${blob} NOT NULL,
  created_at ${ts} NOT NULL,
  PRIMARY KEY (tenant_id, type, id),
  FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
CREATE INDEX resources_patient ON resources (tenant_id, patient_id, type);
CREATE INDEX resources_code ON resources (tenant_id, type, code, effective_date);
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tenants, keys, patients, resources',
    sqlite: `${tenantsAndKeys('BLOB', 'TEXT', 'TEXT')}
CREATE TRIGGER patients_kek_live BEFORE INSERT ON patients
WHEN NOT EXISTS (SELECT 1 FROM tenant_keys k WHERE k.tenant_id = NEW.tenant_id AND k.version = NEW.kek_version AND k.state <> 'destroyed')
BEGIN SELECT RAISE(ABORT, 'labvault: stale key-encryption key version'); END;
CREATE TRIGGER patients_rewrap_live BEFORE UPDATE OF kek_version ON patients
WHEN NOT EXISTS (SELECT 1 FROM tenant_keys k WHERE k.tenant_id = NEW.tenant_id AND k.version = NEW.kek_version AND k.state <> 'destroyed')
BEGIN SELECT RAISE(ABORT, 'labvault: stale key-encryption key version'); END;`,
    postgres: `${tenantsAndKeys('BYTEA', 'TIMESTAMPTZ', 'TEXT COLLATE "C"')}
CREATE FUNCTION labvault_kek_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM tenant_keys k WHERE k.tenant_id = NEW.tenant_id AND k.version = NEW.kek_version AND k.state <> 'destroyed' FOR SHARE) THEN
    RAISE EXCEPTION 'labvault: stale key-encryption key version';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER patients_kek_live BEFORE INSERT OR UPDATE OF kek_version ON patients
FOR EACH ROW EXECUTE FUNCTION labvault_kek_live();`,
  },
];
