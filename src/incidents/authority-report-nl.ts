/**
 * The Dutch words of the DPA report's PDF: the form's section titles, field labels and the fixed
 * English phrases of the facts (authority-report.ts keeps its data in English), keyed on the exact
 * English strings. A key missing here shows in English in the PDF; authority-report-pdf.test.ts
 * checks the ones the facts produce today.
 */
export const SECTION: Record<string, string> = {
  notification: 'Soort melding',
  organisation: 'Organisatie en contactpersoon',
  timeline: 'Tijdstippen',
  nature: 'Aard van het datalek',
  'personal data': 'Soort persoonsgegevens',
  people: 'Aantal betrokkenen',
  'measures beforehand': 'Beschermingsmaatregelen vooraf',
  consequences: 'Gevolgen',
  'follow-up': 'Vervolgacties',
};

export const LABEL: Record<string, string> = {
  kind: 'Soort melding',
  version: 'Versie',
  incident: 'Kenmerk incident',
  reporter: 'Melder',
  organisation: 'Organisatie',
  contact: 'Contactpersoon',
  name: 'Naam',
  email: 'E-mail',
  other_organisations: 'Andere betrokken organisaties',
  tenant: 'Kenmerk',
  labRole: 'Rol van het laboratorium',
  start: 'Begin',
  end: 'Einde',
  discovered: 'Ontdekt op',
  ongoing: 'Duurt nog voort',
  what: 'Wat is er gebeurd',
  cause: 'Oorzaak',
  kinds: 'Soorten persoonsgegevens',
  special_categories: 'Bijzondere persoonsgegevens',
  records_approximately: 'Aantal records (ongeveer)',
  minimum: 'Aantal betrokkenen, minimaal',
  maximum: 'Aantal betrokkenen, maximaal',
  categories: 'Groepen betrokkenen',
  lost: 'Aangetast',
  severity: 'Ernst (ENISA)',
  band: 'Klasse',
  se: 'Score (SE)',
  likely: 'Waarschijnlijke gevolgen',
  subjectsInformed: 'Betrokkenen geïnformeerd',
  measures: 'Genomen maatregelen',
  crossBorder: 'Grensoverschrijdend',
};

/** The fixed words and phrases authority-report.ts writes; anything else is shown as recorded. */
export const PHRASE: Record<string, string> = {
  new: 'nieuwe melding',
  'follow-up': 'vervolgmelding',
  processor: 'verwerker',
  controller: 'verwerkingsverantwoordelijke',
  read: 'ingezien',
  copied: 'gekopieerd',
  altered: 'gewijzigd',
  unavailable: 'niet beschikbaar of vernietigd',
  confidentiality: 'vertrouwelijkheid',
  integrity: 'integriteit',
  availability: 'beschikbaarheid',
  patients: 'patiënten',
  low: 'laag',
  medium: 'gemiddeld',
  high: 'hoog',
  'very high': 'zeer hoog',
  name: 'naam',
  'address, phone, e-mail': 'adres, telefoonnummer, e-mailadres',
  'sex, birth date, age': 'geslacht, geboortedatum, leeftijd',
  'BSN (citizen service number)': 'BSN (burgerservicenummer)',
  'health (laboratory orders and results)': 'gezondheid (laboratoriumaanvragen en -uitslagen)',
  'identity and results encrypted per controller and per patient (AES-256-GCM; keys in a key provider outside the database)':
    'identiteit en uitslagen versleuteld per verwerkingsverantwoordelijke en per patiënt (AES-256-GCM; sleutels in een sleutelbeheersysteem buiten de database)',
  'lookups through keyed blind indexes (HMAC-SHA-256), never plaintext identifiers':
    'opzoeken via geheime blinde indexen (HMAC-SHA-256), nooit via leesbare identificerende gegevens',
  'tamper-evident audit log of every access; inline detection and containment':
    'manipulatiebestendig auditlog van elke toegang; detectie en indamming tijdens de toegang zelf',
  'only ciphertext left without its keys: the data is unintelligible':
    'alleen versleutelde gegevens zijn weggenomen, zonder de sleutels: de gegevens zijn onbegrijpelijk',
  'disclosure of health data and identity; risk of fraud and phishing':
    'openbaarmaking van gezondheidsgegevens en identiteit; risico op fraude en phishing',
  'yes: letters to the people affected': 'ja: per brief aan de betrokkenen',
  'no: the risk to people is not high': 'nee: het risico voor de betrokkenen is niet hoog',
  contained: 'ingedamd',
  restored: 'hersteld',
  mitigated: 'gevolgen beperkt',
  notified: 'gemeld',
};
