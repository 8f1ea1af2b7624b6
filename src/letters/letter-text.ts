import type { DataCategory } from '../domain/audit-event.js';

/**
 * The words of a breach letter to a patient (GDPR Art. 34(2): the nature of the breach in clear
 * and plain language, the contact point, the likely consequences, the measures taken), in plain
 * Dutch and English, per cohort: we know the data was seen; it was found in leaked data; or we
 * cannot rule it out. The facts come from the incident's record; nothing here names the patient
 * (the address block and salutation are set per letter, see letter-template.ts).
 */
export type LetterCohort = 'accessed-confirmed' | 'in-leaked-data' | 'cannot-be-excluded';
export type LetterLanguage = 'nl' | 'en';

export interface LetterFacts {
  controller: string;
  lab: string;
  incident: string;
  /** When the data was exposed (ISO instants), or null when it is not known. */
  exposure: { from: string; to: string } | null;
  categories: readonly DataCategory[];
  /** When the account or access used was blocked, or null. */
  containedAt: string | null;
  /** The supervisory authority has been told. */
  authorityNotified: boolean;
  contact: { email: string; phone: string | null };
  /** The letter's date (ISO instant). */
  date: string;
}

export type Block = { kind: 'heading'; text: string } | { kind: 'paragraph'; text: string } | { kind: 'bullets'; items: string[] };

export interface LetterText {
  subject: string;
  blocks: Block[];
  closing: string;
  /** Labels of the fixed parts of the letter. */
  labels: { date: string; reference: string; page: string; otherLanguage: string | null };
}

const CATEGORY_WORDS: Record<LetterLanguage, Partial<Record<DataCategory, string>>> = {
  nl: {
    identity: 'uw naam en geboortedatum',
    'national-id': 'uw burgerservicenummer (BSN)',
    contact: 'uw adres, telefoonnummer en e-mailadres',
    demographics: 'uw geslacht, huisarts en zorgverzekeraar',
    'clinical-order': 'welk onderzoek is aangevraagd en door wie',
    specimen: 'gegevens over het afgenomen materiaal (bijvoorbeeld een uitstrijkje)',
    'clinical-result': 'de uitslag van het laboratoriumonderzoek',
    'follow-up-advice': 'het advies dat bij de uitslag hoort',
  },
  en: {
    identity: 'your name and date of birth',
    'national-id': 'your citizen service number (BSN)',
    contact: 'your address, telephone number and e-mail address',
    demographics: 'your sex, GP and health insurer',
    'clinical-order': 'which test was requested, and by whom',
    specimen: 'details of the sample taken (for example a smear)',
    'clinical-result': 'the result of the laboratory test',
    'follow-up-advice': 'the advice that came with the result',
  },
};

export function letterText(lang: LetterLanguage, cohort: LetterCohort, f: LetterFacts): LetterText {
  return lang === 'nl' ? dutch(cohort, f) : english(cohort, f);
}

function dutch(cohort: LetterCohort, f: LetterFacts): LetterText {
  const when = f.exposure ? period('nl', f.exposure) : null;
  const what: Record<LetterCohort, { subject: string; text: string }> = {
    'accessed-confirmed': {
      subject: 'Iemand heeft uw gegevens bekeken zonder dat dit mocht',
      text:
        `Wij schrijven u omdat iemand zonder toestemming gegevens over u heeft bekeken in het systeem van ${f.lab}` +
        `${when ? `, ${when}` : ''}. ${f.lab} voert laboratoriumonderzoek uit voor ${f.controller}. ` +
        'Dit weten we zeker: het systeem houdt precies bij wie welke gegevens opvraagt.',
    },
    'in-leaked-data': {
      subject: 'Uw gegevens zijn gevonden in gestolen gegevens',
      text:
        `Wij schrijven u omdat gegevens over u zijn gevonden in gegevens die bij ${f.lab} zijn gestolen${when ? ` (${when})` : ''}. ` +
        `${f.lab} voert laboratoriumonderzoek uit voor ${f.controller}. We hebben de gevonden gegevens vergeleken met onze ` +
        'administratie; daaruit blijkt dat uw gegevens erbij zitten.',
    },
    'cannot-be-excluded': {
      subject: 'Uw gegevens zijn mogelijk door onbevoegden ingezien',
      text:
        `Wij schrijven u omdat er is ingebroken in het systeem van ${f.lab}${when ? `, ${when}` : ''}. ${f.lab} voert ` +
        `laboratoriumonderzoek uit voor ${f.controller}. We weten niet zeker of uw gegevens zijn bekeken of meegenomen, ` +
        'maar we kunnen het niet uitsluiten. Daarom informeren wij u.',
    },
  };
  const measures = [
    f.containedAt ? `We hebben de toegang die werd misbruikt geblokkeerd op ${moment('nl', f.containedAt)}.` : null,
    'We onderzoeken precies wat er is gebeurd en nemen maatregelen om te voorkomen dat dit nog eens gebeurt.',
    f.authorityNotified ? 'We hebben de Autoriteit Persoonsgegevens ingelicht.' : null,
  ].filter((s): s is string => s !== null);
  return {
    subject: what[cohort].subject,
    blocks: [
      { kind: 'paragraph', text: what[cohort].text },
      { kind: 'heading', text: 'Om welke gegevens gaat het?' },
      { kind: 'paragraph', text: `Het gaat om ${categoryWords('nl', f.categories).join('; ')}.` },
      { kind: 'heading', text: 'Wat betekent dit voor u?' },
      {
        kind: 'paragraph',
        text:
          'Uw uitslag en uw zorg veranderen hierdoor niet. Wel kan iemand uw gegevens gebruiken om u op te lichten. ' +
          'Bijvoorbeeld door u te bellen of een bericht te sturen dat echt lijkt, omdat de afzender uw naam, adres of uitslag kent.',
      },
      { kind: 'heading', text: 'Wat hebben wij gedaan?' },
      { kind: 'paragraph', text: measures.join(' ') },
      { kind: 'heading', text: 'Wat kunt u zelf doen?' },
      {
        kind: 'bullets',
        items: [
          'Geef nooit persoonlijke gegevens, uw BSN, codes of bankgegevens aan iemand die u onverwacht belt, mailt of een bericht stuurt. Ook niet als die persoon zegt dat hij van het laboratorium, uw arts, de overheid of de bank is.',
          'Klik niet op links in onverwachte e-mails, sms-berichten of WhatsApp-berichten. Wij sturen u geen link om uw gegevens te controleren.',
          'Twijfelt u of een bericht echt is? Hang op of reageer niet, en neem zelf contact op via een nummer of website die u al kende.',
          'Denkt u dat iemand uw BSN of naam misbruikt? Meld dit bij de politie en bij het Centraal Meldpunt Identiteitsfraude en -fouten van de overheid.',
        ],
      },
      { kind: 'heading', text: 'Heeft u vragen?' },
      {
        kind: 'paragraph',
        text:
          `Neem contact op met ${f.controller}${f.contact.phone ? ` via telefoonnummer ${f.contact.phone} of` : ' via'} ` +
          `${f.contact.email}. Noem dan het kenmerk bovenaan deze brief. Wij vragen u nooit om uw BSN of bankgegevens.`,
      },
    ],
    closing: `Met vriendelijke groet,\n${f.controller}`,
    labels: { date: 'Datum', reference: 'Kenmerk', page: 'Pagina', otherLanguage: 'English version: see the next page.' },
  };
}

function english(cohort: LetterCohort, f: LetterFacts): LetterText {
  const when = f.exposure ? period('en', f.exposure) : null;
  const what: Record<LetterCohort, { subject: string; text: string }> = {
    'accessed-confirmed': {
      subject: 'Someone looked at your data without permission',
      text:
        `We are writing to you because someone looked at data about you in the system of ${f.lab} without permission` +
        `${when ? `, ${when}` : ''}. ${f.lab} carries out laboratory tests for ${f.controller}. ` +
        'We know this for certain: the system records exactly who requests which data.',
    },
    'in-leaked-data': {
      subject: 'Your data was found in stolen data',
      text:
        `We are writing to you because data about you was found in data stolen from ${f.lab}${when ? ` (${when})` : ''}. ` +
        `${f.lab} carries out laboratory tests for ${f.controller}. We compared the data that was found with our ` +
        'records, and your data is in it.',
    },
    'cannot-be-excluded': {
      subject: 'Your data may have been seen by someone without permission',
      text:
        `We are writing to you because someone broke into the system of ${f.lab}${when ? `, ${when}` : ''}. ` +
        `${f.lab} carries out laboratory tests for ${f.controller}. We do not know for certain whether your data was seen ` +
        'or taken, but we cannot rule it out. That is why we are informing you.',
    },
  };
  const measures = [
    f.containedAt ? `We blocked the access that was misused on ${moment('en', f.containedAt)}.` : null,
    'We are investigating exactly what happened and taking measures so that it does not happen again.',
    f.authorityNotified ? 'We have informed the Dutch Data Protection Authority (Autoriteit Persoonsgegevens).' : null,
  ].filter((s): s is string => s !== null);
  return {
    subject: what[cohort].subject,
    blocks: [
      { kind: 'paragraph', text: what[cohort].text },
      { kind: 'heading', text: 'Which data is involved?' },
      { kind: 'paragraph', text: `It concerns ${categoryWords('en', f.categories).join('; ')}.` },
      { kind: 'heading', text: 'What does this mean for you?' },
      {
        kind: 'paragraph',
        text:
          'Your result and your care do not change. But someone could use your data to deceive you, for example by ' +
          'calling you or sending you a message that seems genuine because the sender knows your name, address or result.',
      },
      { kind: 'heading', text: 'What have we done?' },
      { kind: 'paragraph', text: measures.join(' ') },
      { kind: 'heading', text: 'What can you do?' },
      {
        kind: 'bullets',
        items: [
          'Never give personal details, your BSN, codes or bank details to anyone who calls, e-mails or messages you unexpectedly, even if they say they are from the laboratory, your doctor, the government or your bank.',
          'Do not click on links in unexpected e-mails, text messages or WhatsApp messages. We will never send you a link to check your data.',
          'Not sure whether a message is genuine? Hang up or do not reply, and contact the organisation yourself using a number or website you already knew.',
          'Do you think someone is misusing your BSN or name? Report it to the police and to the government’s Central Reporting Point for Identity Fraud (Centraal Meldpunt Identiteitsfraude en -fouten).',
        ],
      },
      { kind: 'heading', text: 'Questions?' },
      {
        kind: 'paragraph',
        text:
          `Please contact ${f.controller}${f.contact.phone ? ` on ${f.contact.phone} or` : ' at'} ${f.contact.email}, ` +
          'quoting the reference at the top of this letter. We will never ask you for your BSN or bank details.',
      },
    ],
    closing: `Kind regards,\n${f.controller}`,
    labels: { date: 'Date', reference: 'Reference', page: 'Page', otherLanguage: null },
  };
}

function categoryWords(lang: LetterLanguage, categories: readonly DataCategory[]): string[] {
  const words = categories.map((c) => CATEGORY_WORDS[lang][c]).filter((w): w is string => w !== undefined);
  if (words.length > 0) return words;
  return [lang === 'nl' ? 'gegevens uit uw dossier bij het laboratorium' : 'data from your laboratory record'];
}

const ZONE = 'Europe/Amsterdam';

/** A date in words, in the Netherlands' time zone: "14 juli 2025". */
export function letterDate(lang: LetterLanguage, iso: string): string {
  return new Intl.DateTimeFormat(lang === 'nl' ? 'nl-NL' : 'en-GB', { dateStyle: 'long', timeZone: ZONE }).format(new Date(iso));
}

function moment(lang: LetterLanguage, iso: string): string {
  const time = new Intl.DateTimeFormat('nl-NL', { timeStyle: 'short', timeZone: ZONE }).format(new Date(iso));
  return lang === 'nl' ? `${letterDate('nl', iso)} om ${time} uur` : `${letterDate('en', iso)} at ${time}`;
}

function period(lang: LetterLanguage, p: { from: string; to: string }): string {
  const a = letterDate(lang, p.from);
  const b = letterDate(lang, p.to);
  if (a === b) return lang === 'nl' ? `op ${a}` : `on ${a}`;
  return lang === 'nl' ? `tussen ${a} en ${b}` : `between ${a} and ${b}`;
}
