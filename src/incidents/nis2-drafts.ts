import type { IncidentView } from '../services/incident-register.js';

/**
 * NIS2 Art. 23 reports to the CSIRT (NL health: Z-CERT), drafted from the incident's record: the
 * early warning (24 h: suspected malicious? cross-border?), the incident notification (72 h: initial
 * severity and impact, indicators of compromise) and the final report (a month later: root cause,
 * mitigation, cross-border impact). Drafts carry counts, never patient data; fields the record
 * cannot answer are marked for the officer to fill in rather than guessed.
 */
export type Nis2Kind = 'early-warning' | 'notification' | 'final';

export const TO_FILL = '(to be completed by the security officer)';

export interface Nis2Draft {
  kind: Nis2Kind;
  article: string;
  incident: string;
  entity: string;
  significant_since: string | null;
  suspected_malicious: boolean;
  cross_border: string;
  summary: string;
  fields: Record<string, unknown>;
}

export function nis2Draft(kind: Nis2Kind, incident: IncidentView, entity: string, indicatorCount: number): Nis2Draft {
  const severity = incident.doc.severity as { band?: string; se?: number; reasoning?: string[] } | undefined;
  const scope = incident.doc.scope as { tenants?: { tenant: string; patients: [number, number] }[] } | undefined;
  const people = (scope?.tenants ?? []).reduce<[number, number]>((n, t) => [n[0] + t.patients[0], n[1] + t.patients[1]], [0, 0]);
  const malicious = incident.source === 'detection' || (severity?.reasoning ?? []).some((r) => r.includes('malicious'));
  const base = {
    kind,
    incident: incident.id,
    entity,
    significant_since: incident.awareness.significant ?? null,
    suspected_malicious: malicious,
    cross_border: TO_FILL,
    summary: `${incident.trigger} (${incident.types.join(', ')}); people affected [${people[0]}, ${people[1]}]`,
  };
  switch (kind) {
    case 'early-warning':
      return { ...base, article: 'NIS2 Art. 23(4)(a)', fields: { detected_at: incident.awareness.lab ?? null } };
    case 'notification':
      return {
        ...base,
        article: 'NIS2 Art. 23(4)(b)',
        fields: {
          severity: severity ? { band: severity.band, se: severity.se } : TO_FILL,
          impact: { people_affected: people, tenants: (scope?.tenants ?? []).map((t) => t.tenant) },
          indicators_of_compromise: `${indicatorCount} indicators in the STIX 2.1 bundle (labvault incident stix)`,
          measures: incident.timeline.filter((e) => /^(contained|restored|mitigated)/.test(e.action)).map((e) => `${e.at} ${e.action}`),
        },
      };
    case 'final':
      return {
        ...base,
        article: 'NIS2 Art. 23(4)(d)',
        fields: {
          root_cause: TO_FILL,
          mitigation: incident.timeline.map((e) => `${e.at} ${e.action}${e.note ? `: ${e.note}` : ''}`),
          severity: severity ? { band: severity.band, se: severity.se } : TO_FILL,
          status: incident.status,
        },
      };
  }
}
