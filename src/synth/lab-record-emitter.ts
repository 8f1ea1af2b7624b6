import { BSN_SYSTEM } from '../domain/bsn.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';
import { INSURER_EXTENSION_URL, OBSERVATION_CATEGORY_LAB, REPORT_CATEGORY_LAB, type CodeableConcept } from './fhir-codes.js';
import type { IdMinter } from './id-minter.js';
import { isoDateTime, type LocalTime } from './lab-calendar.js';
import type { SynthPerson } from './person-factory.js';

/**
 * Where the resources of one type go. Only `write` is needed, so the generator's NDJSON files and
 * an in-memory collector (canary records) share one emitter. Written objects share constant
 * fragments and may hold undefined members: a sink that keeps them must copy (JSON does both).
 */
export interface RecordSink {
  write(value: unknown): void;
}

/** One sink per resource type, in reference order. */
export interface LabOutputs {
  Patient: RecordSink;
  ServiceRequest: RecordSink;
  Specimen: RecordSink;
  Observation: RecordSink;
  DiagnosticReport: RecordSink;
}

interface Ref {
  reference: string;
}

interface Meta {
  tag: { system: string; code: string }[];
}

/** A Patient record written for one tenant; orders of that tenant hang off it. */
export interface PatientHandle {
  meta: Meta;
  subject: Ref;
}

/** One result line of an order, already coded. */
export interface ResultSpec {
  code: CodeableConcept;
  valueQuantity?: { value: number; comparator?: '<' | '>'; unit: string; system: string; code: string };
  valueCodeableConcept?: CodeableConcept;
  interpretation?: readonly CodeableConcept[];
  referenceRange?: readonly unknown[];
}

export interface OrderSpec {
  code: CodeableConcept;
  requester: string;
  specimenType: CodeableConcept;
  collected: LocalTime;
  received: LocalTime;
  issued: LocalTime;
  results: readonly ResultSpec[];
  conclusion: string;
  conclusionCode: readonly CodeableConcept[];
}

/** The laboratory that performs every test (DiagnosticReport.performer). */
const LAB_PERFORMER = [{ display: 'Regionaal Klinisch Laboratorium Labvault (synthetic)' }] as const;

/**
 * Turns persons and orders into FHIR R4 resources and writes them, each to its type's file, in
 * the order that keeps every reference pointing backwards: Patient before ServiceRequest before
 * Specimen before Observation before DiagnosticReport. Constant fragments (tenant tag, category,
 * codes, subject reference) are shared objects, not copies.
 */
export class LabRecordEmitter {
  private readonly metaByTenant = new Map<string, Meta>();

  constructor(
    private readonly out: LabOutputs,
    private readonly ids: IdMinter,
  ) {}

  /** Writes the Patient record of `person` under `tenantId`. */
  patient(tenantId: string, person: SynthPerson): PatientHandle {
    const meta = this.meta(tenantId);
    const id = this.ids.next('pat-');
    this.out.Patient.write({
      resourceType: 'Patient',
      id,
      meta,
      identifier: [{ system: BSN_SYSTEM, value: person.bsn }],
      name: [{ use: 'official', family: person.family, given: person.given }],
      gender: person.gender,
      birthDate: person.birthDate,
      address: [{ use: 'home', line: [person.addressLine], city: person.city, postalCode: person.postalCode, country: 'NL' }],
      telecom: [
        { system: 'phone', value: person.phone },
        { system: 'email', value: person.email },
      ],
      generalPractitioner: [{ display: person.generalPractitioner }],
      extension: [{ url: INSURER_EXTENSION_URL, valueString: person.insurer }],
    });
    return { meta, subject: { reference: `Patient/${id}` } };
  }

  /** Writes one order: ServiceRequest, Specimen, its Observations and the DiagnosticReport. */
  order(patient: PatientHandle, spec: OrderSpec): void {
    const { meta, subject } = patient;
    const srId = this.ids.next('sr-');
    const specId = this.ids.next('spec-');
    const basedOn = [{ reference: `ServiceRequest/${srId}` }];
    const collected = isoDateTime(spec.collected);
    const issued = isoDateTime(spec.issued);
    this.out.ServiceRequest.write({
      resourceType: 'ServiceRequest',
      id: srId,
      meta,
      status: 'completed',
      intent: 'order',
      code: spec.code,
      subject,
      authoredOn: collected.slice(0, 10),
      requester: { display: spec.requester },
    });
    this.out.Specimen.write({
      resourceType: 'Specimen',
      id: specId,
      meta,
      status: 'available',
      type: spec.specimenType,
      subject,
      receivedTime: isoDateTime(spec.received),
      request: basedOn,
      collection: { collectedDateTime: collected },
    });
    const specimen = { reference: `Specimen/${specId}` };
    const result: Ref[] = [];
    for (const r of spec.results) {
      const obsId = this.ids.next('obs-');
      result.push({ reference: `Observation/${obsId}` });
      // Undefined members are dropped by JSON.stringify, so one literal covers coded and numeric results.
      this.out.Observation.write({
        resourceType: 'Observation',
        id: obsId,
        meta,
        basedOn,
        status: 'final',
        category: OBSERVATION_CATEGORY_LAB,
        code: r.code,
        subject,
        effectiveDateTime: collected,
        issued,
        valueQuantity: r.valueQuantity,
        valueCodeableConcept: r.valueCodeableConcept,
        interpretation: r.interpretation,
        specimen,
        referenceRange: r.referenceRange,
      });
    }
    this.out.DiagnosticReport.write({
      resourceType: 'DiagnosticReport',
      id: this.ids.next('dr-'),
      meta,
      basedOn,
      status: 'final',
      category: REPORT_CATEGORY_LAB,
      code: spec.code,
      subject,
      effectiveDateTime: collected,
      issued,
      performer: LAB_PERFORMER,
      specimen: [specimen],
      result,
      conclusion: spec.conclusion,
      conclusionCode: spec.conclusionCode,
    });
  }

  private meta(tenantId: string): Meta {
    let meta = this.metaByTenant.get(tenantId);
    if (!meta) {
      meta = { tag: [{ system: TENANT_TAG_SYSTEM, code: tenantId }] };
      this.metaByTenant.set(tenantId, meta);
    }
    return meta;
  }
}
