/**
 * Additional authenticated data for record and key envelopes. Every field that locates a
 * ciphertext is bound, so swapping ciphertexts between rows, tenants, types, versions or sections
 * fails authentication instead of returning someone else's data.
 */
export const Section = { Identity: 'identity', Body: 'body' } as const;
export type Section = (typeof Section)[keyof typeof Section];

export function recordAad(tenant: string, type: string, id: string, version: number, section: Section): Buffer {
  return Buffer.from(`labvault/v1|${tenant}|${type}|${id}|${version}|${section}`, 'utf8');
}

export function dekAad(tenant: string, patientId: string, kekVersion: number): Buffer {
  return Buffer.from(`labvault/v1|dek|${tenant}|${patientId}|${kekVersion}`, 'utf8');
}

/** Context string for keys wrapped by the KeyProvider's master key. */
export function kekContext(tenant: string, version: number): string {
  return `labvault/v1|kek|${tenant}|${version}`;
}

export function indexKeyContext(tenant: string): string {
  return `labvault/v1|blind-index-key|${tenant}`;
}
