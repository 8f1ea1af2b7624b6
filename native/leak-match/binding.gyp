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
        "keyed_index.c",
        "keyed_index_napi.c",
        "napi_args.c",
        "napi_glue.c",
        "../leak-extract/family_fold.c"
      ],
      "include_dirs": ["../leak-extract"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "ldflags": ["-Wl,-z,now"]
    }
  ]
}
