import type { ByteEvents } from './byte-events.js';
import type { CandidateCollector } from './candidate-collector.js';
import { DelimitedScanner } from './delimited-scanner.js';
import type { LeakFormat } from './format-sniff.js';
import type { FormatScanner } from './format-scanner.js';
import { Hl7Scanner } from './hl7-scanner.js';
import { JsonScanner } from './json-scanner.js';
import { SqlScanner } from './sql-scanner.js';
import { XmlScanner } from './xml-scanner.js';

/**
 * The scanner of a format, reading the buffer of `events`. `midFile`: the bytes are a range that
 * does not start the file.
 */
export function createScanner(
  format: LeakFormat,
  delimiter: number,
  c: CandidateCollector,
  events: ByteEvents,
  midFile = false,
): FormatScanner {
  switch (format) {
    case 'csv':
      return new DelimitedScanner(c, events, delimiter, midFile);
    case 'text':
      return new DelimitedScanner(c, events, -1);
    case 'json':
      return new JsonScanner(c, events, false);
    case 'ndjson':
      return new JsonScanner(c, events, true);
    case 'xml':
      return new XmlScanner(c, events);
    case 'sql':
      return new SqlScanner(c, events, midFile);
    case 'hl7':
      return new Hl7Scanner(c, events);
  }
}
