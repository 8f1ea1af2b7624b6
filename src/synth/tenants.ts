import { LabRole, TenantKind, type Tenant } from '../domain/tenant.js';

/**
 * The five controllers of the synthetic lab. Ids are fixed because tests, demos and benchmarks
 * address tenants by id; the mix (a national screening programme next to hospitals, a GP network
 * where the lab is itself controller, and a small private clinic) exercises every breach-scoping
 * path. Names carry "(synthetic)" so the data can never be mistaken for a real controller's.
 */
export const SYNTH_TENANTS: readonly Tenant[] = Object.freeze([
  {
    id: 'screening',
    name: 'Bevolkingsonderzoek Baarmoederhalskanker (synthetic)',
    kind: TenantKind.ScreeningProgramme,
    jurisdiction: 'NL',
    labRole: LabRole.Processor,
    // The national programme contracts the tightest notice period.
    breachNoticeSlaHours: 12,
    contact: { name: 'Functionaris Gegevensbescherming BVO', email: 'privacy@bevolkingsonderzoek.example' },
    publicKeyJwk: null,
  },
  {
    id: 'hospital-west',
    name: 'Westkust Ziekenhuis (synthetic)',
    kind: TenantKind.Hospital,
    jurisdiction: 'NL',
    labRole: LabRole.Processor,
    breachNoticeSlaHours: 24,
    contact: { name: 'Privacy Office Westkust Ziekenhuis', email: 'privacy@westkust-ziekenhuis.example' },
    publicKeyJwk: null,
  },
  {
    id: 'hospital-south',
    name: 'Ziekenhuis Zuiderpoort (synthetic)',
    kind: TenantKind.Hospital,
    jurisdiction: 'NL',
    labRole: LabRole.Processor,
    breachNoticeSlaHours: 24,
    contact: { name: 'Functionaris Gegevensbescherming Zuiderpoort', email: 'fg@zuiderpoort.example' },
    publicKeyJwk: null,
  },
  {
    id: 'gp-network',
    name: 'Huisartsennetwerk Utrecht-Midden (synthetic)',
    kind: TenantKind.GpNetwork,
    jurisdiction: 'NL',
    // The lab decides on purposes and means of the network's diagnostics itself.
    labRole: LabRole.Controller,
    breachNoticeSlaHours: 24,
    contact: { name: 'Coördinator Privacy Huisartsennetwerk', email: 'privacy@huisartsennetwerk-utrecht.example' },
    publicKeyJwk: null,
  },
  {
    id: 'private-clinic',
    name: 'Privékliniek De Amstel (synthetic)',
    kind: TenantKind.Clinic,
    jurisdiction: 'NL',
    labRole: LabRole.Processor,
    // A small clinic negotiated a looser deadline than the institutional controllers.
    breachNoticeSlaHours: 48,
    contact: { name: 'Praktijkmanager Privékliniek De Amstel', email: 'info@privekliniek-amstel.example' },
    publicKeyJwk: null,
  },
] satisfies Tenant[]);

/** Tenant ids of the synthetic lab, as a union type for exhaustive switches. */
export type SynthTenantId = 'screening' | 'hospital-west' | 'hospital-south' | 'gp-network' | 'private-clinic';
