#include "scanner.h"

void scanner_init(Scanner *sc, int format, int delimiter, int midFile) {
  memset(sc, 0, sizeof *sc);
  sc->format = format;
  switch (format) {
    case FORMAT_DELIMITED: delimited_init(sc, delimiter, midFile); break;
    case FORMAT_JSON: json_init(sc, delimiter); break;
    case FORMAT_SQL: sql_init(sc, midFile); break;
    case FORMAT_XML: xml_init(sc); break;
    default: hl7_init(sc); break;
  }
}

void scanner_free(Scanner *sc) {
  coll_free(&sc->c);
  events_free(&sc->ev);
  role_cache_free(&sc->roleCache);
  if (sc->format == FORMAT_SQL) sql_free(sc);
}

static IList *spare_list(Scanner *sc, int i) {
  Collector *c = &sc->c;
  switch (i - COL_COUNT) {
    case 0: return &c->pendingValue;
    case 1: return &c->pendingLine;
    case 2: return &c->pendingRecord;
    case 3: return &c->pendingColumn;
    default: return coll_column(c, i);
  }
}

void scanner_take_spare(Scanner *sc, ScannerSpare *spare) {
  if (!spare->full) return;
  sc->ev = spare->ev;
  sc->ev.n = 0;
  for (int i = 0; i < SPARE_LISTS; i++) {
    *spare_list(sc, i) = spare->lists[i];
    spare_list(sc, i)->n = 0;
  }
  memset(spare, 0, sizeof *spare);
}

void scanner_release(Scanner *sc, ScannerSpare *spare) {
  /* Not a retired scanner's: its lists may be mid-growth. */
  if (!spare->full && !sc->retired) {
    spare->ev = sc->ev;
    memset(&sc->ev, 0, sizeof sc->ev);
    for (int i = 0; i < SPARE_LISTS; i++) {
      spare->lists[i] = *spare_list(sc, i);
      memset(spare_list(sc, i), 0, sizeof(IList));
    }
    spare->full = 1;
  }
  scanner_free(sc);
  sc->released = 1;
}

void scanner_spare_free(ScannerSpare *spare) {
  events_free(&spare->ev);
  for (int i = 0; i < SPARE_LISTS; i++) ilist_free(&spare->lists[i]);
  spare->full = 0;
}

i32 scanner_scan(Scanner *sc, const Bytes *buf, i32 from, i32 to, int mode) {
  sc->c.b = *buf;
  switch (sc->format) {
    case FORMAT_DELIMITED: return delimited_scan(sc, from, to, mode);
    case FORMAT_JSON: return json_scan(sc, from, to, mode);
    case FORMAT_SQL: return sql_scan(sc, from, to, mode);
    case FORMAT_XML: return xml_scan(sc, from, to, mode);
    default: return hl7_scan(sc, from, to, mode);
  }
}

void scanner_use_header(Scanner *sc, const Bytes *buf, i32 s, i32 e) {
  sc->c.b = *buf;
  if (sc->format == FORMAT_DELIMITED) delimited_use_header(sc, s, e);
  else if (sc->format == FORMAT_SQL) sql_use_header(sc, s, e);
}
