import { randomUUID } from 'node:crypto';

/**
 * Indicators for the sector CERT (NL health: Z-CERT) as a STIX 2.1 bundle: the lab as the
 * producing identity, one indicator per attacker address and per user agent seen in the incident's
 * scope, and file hashes of leaked copies when the leak scan supplies them. Marked TLP:AMBER (the
 * STIX 2.1 predefined marking): shared with the CERT's members, not published. No personal data of
 * patients: addresses and agents are the attacker's.
 */
export const TLP_AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';

export interface StixInput {
  incidentId: string;
  labName: string;
  origins: readonly { ip: string; userAgent: string | null }[];
  fileSha256?: readonly string[];
  now: Date;
}

type StixObject = Record<string, unknown> & { type: string; id: string };

export function stixBundle(i: StixInput): { type: 'bundle'; id: string; objects: StixObject[] } {
  const ts = i.now.toISOString();
  const identity: StixObject = {
    type: 'identity',
    spec_version: '2.1',
    id: `identity--${randomUUID()}`,
    created: ts,
    modified: ts,
    name: i.labName,
    identity_class: 'organization',
    sectors: ['healthcare'],
  };
  const indicator = (name: string, pattern: string): StixObject => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created: ts,
    modified: ts,
    created_by_ref: identity.id,
    name,
    description: `labvault incident ${i.incidentId}`,
    indicator_types: ['malicious-activity'],
    pattern,
    pattern_type: 'stix',
    valid_from: ts,
    object_marking_refs: [TLP_AMBER],
  });
  const objects: StixObject[] = [identity];
  for (const ip of [...new Set(i.origins.map((o) => o.ip))].sort()) {
    const v6 = ip.includes(':');
    objects.push(
      indicator(`client address used in incident ${i.incidentId}`, `[${v6 ? 'ipv6-addr' : 'ipv4-addr'}:value = '${quote(ip)}']`),
    );
  }
  for (const ua of [...new Set(i.origins.flatMap((o) => (o.userAgent ? [o.userAgent] : [])))].sort())
    objects.push(
      indicator(
        `user agent used in incident ${i.incidentId}`,
        `[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '${quote(ua)}']`,
      ),
    );
  for (const h of [...new Set(i.fileSha256 ?? [])].sort())
    objects.push(indicator('leaked file', `[file:hashes.'SHA-256' = '${quote(h)}']`));
  return { type: 'bundle', id: `bundle--${randomUUID()}`, objects };
}

/** STIX patterning string literal: backslash and quote escaped. */
function quote(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}
