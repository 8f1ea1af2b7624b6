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
