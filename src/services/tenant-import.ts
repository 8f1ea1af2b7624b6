import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { InvalidInput } from '../domain/errors.js';
import { LabRole, TenantKind, isValidTenantId, type Tenant } from '../domain/tenant.js';

/** Schema for tenants.json: an array of controllers (see CLI.md, "Synthetic lab"). */
const TenantSchema = z.object({
  id: z.string().refine(isValidTenantId, 'tenant id must be a lower-case slug'),
  name: z.string().min(1),
  kind: z.enum(Object.values(TenantKind) as [TenantKind, ...TenantKind[]]),
  jurisdiction: z.string().regex(/^[A-Z]{2}$/),
  labRole: z.enum(Object.values(LabRole) as [LabRole, ...LabRole[]]),
  breachNoticeSlaHours: z
    .number()
    .int()
    .positive()
    .max(24 * 365),
  contact: z.object({ name: z.string().min(1), email: z.string().min(3) }),
  publicKeyJwk: z.record(z.string(), z.unknown()).nullable(),
});

export async function readTenantsFile(file: string): Promise<Tenant[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (cause) {
    throw new InvalidInput(`${file}: not valid JSON`, { cause });
  }
  const parsed = z.array(TenantSchema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInput(`${file}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid tenants'}`);
  }
  return parsed.data;
}
