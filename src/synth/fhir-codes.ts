/**
 * Code systems and shared coded values. Objects here are reused by reference in every resource
 * that needs them (JSON.stringify does not care), which saves millions of small allocations.
 */

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const UCUM = 'http://unitsofmeasure.org';
export const INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
/** Local code systems for Dutch concepts without an international code (Pap/KOPAC-B, advice). */
export const PAP_CLASS_SYSTEM = 'https://labvault.dev/fhir/CodeSystem/pap-class';
export const HPV_GENOTYPE_SYSTEM = 'https://labvault.dev/fhir/CodeSystem/hpv-genotype';
export const SCREENING_ADVICE_SYSTEM = 'https://labvault.dev/fhir/CodeSystem/cervical-screening-advice';
export const INSURER_EXTENSION_URL = 'https://labvault.dev/fhir/StructureDefinition/insurer';

export interface Coding {
  system: string;
  code: string;
  display: string;
}

export interface CodeableConcept {
  coding: Coding[];
  text?: string;
}

/** A CodeableConcept with one coding and an optional Dutch text. */
export function concept(system: string, code: string, display: string, text?: string): CodeableConcept {
  const c: CodeableConcept = { coding: [{ system, code, display }] };
  if (text !== undefined) c.text = text;
  return c;
}

export const OBSERVATION_CATEGORY_LAB: readonly CodeableConcept[] = [
  concept('http://terminology.hl7.org/CodeSystem/observation-category', 'laboratory', 'Laboratory'),
];

export const REPORT_CATEGORY_LAB: readonly CodeableConcept[] = [
  concept('http://terminology.hl7.org/CodeSystem/v2-0074', 'LAB', 'Laboratory'),
];

export const INTERPRETATION = {
  high: [concept(INTERPRETATION_SYSTEM, 'H', 'High')],
  low: [concept(INTERPRETATION_SYSTEM, 'L', 'Low')],
  normal: [concept(INTERPRETATION_SYSTEM, 'N', 'Normal')],
} as const;

/** Specimen types (SNOMED CT). */
export const SPECIMEN_TYPE = {
  blood: concept(SNOMED, '119297000', 'Blood specimen', 'EDTA-bloed'),
  serum: concept(SNOMED, '119364003', 'Serum specimen', 'Serum'),
  plasma: concept(SNOMED, '119361006', 'Plasma specimen', 'Plasma'),
  cervix: concept(SNOMED, '119395005', 'Specimen from uterine cervix', 'Cervixuitstrijkje (vloeibaar medium)'),
} as const;
export type SpecimenKind = keyof typeof SPECIMEN_TYPE;

export const RESULT_NORMAL = concept(SNOMED, '17621005', 'Normal', 'Normaal');
export const RESULT_ABNORMAL = concept(SNOMED, '263654008', 'Abnormal', 'Afwijkend');
export const RESULT_POSITIVE = concept(SNOMED, '10828004', 'Positive', 'hrHPV positief');
export const RESULT_NEGATIVE = concept(SNOMED, '260385009', 'Negative', 'hrHPV negatief');
