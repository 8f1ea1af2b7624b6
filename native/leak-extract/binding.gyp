{
  "targets": [
    {
      "target_name": "leak_extract",
      "sources": [
        "byte_events.c",
        "collector.c",
        "delimited_scanner.c",
        "digits.c",
        "extract_napi.c",
        "family_fold.c",
        "field_roles.c",
        "hl7_scanner.c",
        "int_list.c",
        "json_scanner.c",
        "name_date_keys.c",
        "scanner.c",
        "sql_scanner.c",
        "sql_statement.c",
        "xml_scanner.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"],
      "ldflags": ["-Wl,-z,now"]
    }
  ]
}
