{
  "targets": [
    {
      "target_name": "record_crypto",
      "sources": ["native/record_crypto.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
