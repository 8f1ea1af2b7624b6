{
  "targets": [
    {
      "target_name": "leak_match",
      "sources": [
        "grow_array.c",
        "candidate_table.c",
        "unit_hits.c",
        "distinct_values.c",
        "record_categories.c",
        "match_chunk.c",
        "napi_glue.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "ldflags": ["-Wl,-z,now"]
    }
  ]
}
