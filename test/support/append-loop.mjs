// Test helper (run as a child process): appends audit events to the vault in DATA_DIR forever,
// in small batches, with checkpoints every few events, until killed.
import { loadConfig } from '../../dist/config.js';
import { openVault } from '../../dist/compose.js';
import { operatorContext } from '../../dist/domain/principal.js';

const vault = await openVault(
  loadConfig({ dataDir: process.argv[2] }, { LABVAULT_AUDIT_CHECKPOINT_EVENTS: '25', LABVAULT_AUDIT_CHECKPOINT_MS: '20' }),
);
const ctx = operatorContext('append-loop', 'test');
for (let i = 0; ; i++) {
  const events = Array.from({ length: 1 + (i % 7) }, (_, k) => vault.audit.event(ctx, { action: 'audit.read', records: k }));
  await vault.audit.record(events);
  if (i % 50 === 0) process.stdout.write(`${i}\n`);
}
