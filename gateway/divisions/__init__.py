"""Division codes (行政区划代码): current table, history, address parsing.

- codes: the structure of codes lives in the standard (message_schemas.codes)
- ``names``       name stems and short forms (邵东市 → 邵东)
- ``sources``     the packaged tables (MCA 2025-12-31, GB/T 2260 history since 1980)
- ``successors``  successors of retired codes: derivation, curated rows, chains
- ``table_files`` operator CSV files: decode, validate, store, re-read
- ``registry``    ``load_registry(dir)``: check_code / lookup / successor / is_known_id_prefix
- ``address``     ``parse_address(text, registry)``: free text → county (and township), confidence
- ``service``     ``load_file()``: validate + store an operator file
- ``errors``      the package's errors (mapped to problem details by the service)

Nothing here reads settings or serves HTTP: directories and registries are arguments.
"""
