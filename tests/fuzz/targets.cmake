# The fuzz targets (tests/fuzz/fuzz_<name>.cc), one list for the fuzz
# project that builds them and the test suite that runs them.
set(VEMAKIN_FUZZ_TARGETS
  json_body
  validation
  list_cursor
  pull_position
  snapshot_position
  sync_envelopes
  http_request)
