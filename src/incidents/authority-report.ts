import type { DataCategory } from '../domain/audit-event.js';
import type { IncidentView } from '../services/incident-register.js';

/**
 * The supervisory-authority report (GDPR 33(3)), in two layers: form-independent facts drawn from
 * the incident's record (scope, severity, timeline), and their mapping onto the Dutch DPA's
 * breach-form sections. A second form (the EDPB's draft EU template) maps the same facts.
 * Phased (33(4)): the first report is "new", later ones "follow-up" with a version. Counts only:
 * no patient is named in a report to the authority.
 */
export interface AuthorityFacts {
  incident: string;
  version: number;
  reporter: { organisation: string; contact: { name: string; email: string } };
  controllers: { tenant: string; name: string; labRole: string }[];
  timeline: { start: string | null; end: string | null; discovered: string | null; ongoing: boolean };
  nature: { what: string[]; cause: string };
  data: { categories: DataCategory[]; special: string[]; records: [number, number] };
  people: { count: [number, number]; groups: string[] };
  measuresBefore: string[];
  consequences: { lost: string[]; severity: { band: string; se: number } | null; likely: string };
  followUp: { subjectsInformed: string; measures: string[]; crossBorder: string };
}

const TO_FILL = '(to be completed)';

export function authorityFacts(
  incident: IncidentView,
  tenants: readonly { id: string; name: string; labRole: string }[],
  version: number,
  reporter: AuthorityFacts['reporter'],
): AuthorityFacts {
  const scope = incident.doc.scope as
    | {
        ciphertext_only?: boolean;
        tenants?: { tenant: string; patients: [number, number]; records: [number, number]; categories: DataCategory[] }[];
      }
    | undefined;
  const sev = incident.doc.severity as { band: string; se: number; highRisk?: boolean; exemption?: string | null } | undefined;
  const st = scope?.tenants ?? [];
  const sum = (pick: (t: (typeof st)[number]) => [number, number]): [number, number] =>
    st.reduce<[number, number]>((n, t) => [n[0] + pick(t)[0], n[1] + pick(t)[1]], [0, 0]);
  const categories = [...new Set(st.flatMap((t) => t.categories))].sort();
  const health = categories.some((c) => c === 'clinical-order' || c === 'specimen' || c === 'clinical-result' || c === 'follow-up-advice');
  return {
    incident: incident.id,
    version,
    reporter,
    controllers: tenants.filter((t) => incident.tenants.includes(t.id)).map((t) => ({ tenant: t.id, name: t.name, labRole: t.labRole })),
    timeline: {
      start: incident.window.start,
      end: incident.window.end,
      discovered: incident.awareness.lab ?? null,
      ongoing: incident.status === 'open',
    },
    nature: {
      what: incident.types.includes('confidentiality')
        ? ['read', 'copied']
        : incident.types.includes('integrity')
          ? ['altered']
          : ['unavailable'],
      cause: incident.trigger,
    },
    data: { categories, special: health ? ['health (laboratory orders and results)'] : [], records: sum((t) => t.records) },
    people: { count: sum((t) => t.patients), groups: ['patients'] },
    measuresBefore: [
      'identity and results encrypted per controller and per patient (AES-256-GCM; keys in a key provider outside the database)',
      'lookups through keyed blind indexes (HMAC-SHA-256), never plaintext identifiers',
      'tamper-evident audit log of every access; inline detection and containment',
    ],
    consequences: {
      lost: incident.types,
      severity: sev ? { band: sev.band, se: sev.se } : null,
      likely: scope?.ciphertext_only
        ? 'only ciphertext left without its keys: the data is unintelligible'
        : health
          ? 'disclosure of health data and identity; risk of fraud and phishing'
          : TO_FILL,
    },
    followUp: {
      subjectsInformed: sev?.exemption
        ? `no: Art. ${sev.exemption} (unintelligible data)`
        : sev?.highRisk
          ? 'yes: letters to the people affected'
          : sev
            ? 'no: the risk to people is not high'
            : TO_FILL,
      measures: incident.timeline
        .filter((e) => /^(contained|restored|mitigated|notified)/.test(e.action))
        .map((e) => `${e.at} ${e.action}`),
      crossBorder: TO_FILL,
    },
  };
}

const LABEL: Partial<Record<DataCategory, string>> = {
  identity: 'name',
  contact: 'address, phone, e-mail',
  demographics: 'sex, birth date, age',
  'national-id': 'BSN (citizen service number)',
};

/** The Dutch DPA (Autoriteit Persoonsgegevens) breach form, section by section, from the facts. */
export function dutchDpaForm(f: AuthorityFacts): Record<string, unknown> {
  return {
    form: 'Autoriteit Persoonsgegevens — melding datalek',
    '1 notification': { kind: f.version === 1 ? 'new' : 'follow-up', version: f.version, incident: f.incident },
    '2 organisation': { reporter: f.reporter, other_organisations: f.controllers },
    '3 timeline': f.timeline,
    '4 nature': f.nature,
    '5 personal data': {
      kinds: f.data.categories.flatMap((c) => (LABEL[c] ? [LABEL[c]] : [])),
      special_categories: f.data.special,
      records_approximately: f.data.records,
    },
    '6 people': { minimum: f.people.count[0], maximum: f.people.count[1], categories: f.people.groups },
    '7 measures beforehand': f.measuresBefore,
    '8 consequences': f.consequences,
    '9 follow-up': f.followUp,
  };
}
