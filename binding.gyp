{
  "targets": [
    {
      "target_name": "record_crypto",
      "sources": ["native/record_crypto.c"],
      "cflags": ["-Wall", "-Wextra"],
      "ldflags": ["-Wl,-z,now"]
    }
  ]
}
