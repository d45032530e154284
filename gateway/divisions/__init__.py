"""Division codes (行政区划代码): current table, history, address parsing.

- ``codes``       pure structure of 6/9/12-digit codes and village ranges
- ``names``       name stems and short forms (邵东市 → 邵东)
- ``sources``     the packaged tables (MCA 2025-12-31, GB/T 2260 history since 1980)
- ``successors``  successors of retired codes: derivation, curated rows, chains
- ``table_files`` operator CSV files: decode, validate, store, re-read
- ``registry``    ``get_registry()``: check_code / lookup / successor / is_known_id_prefix
- ``address``     ``parse_address()``: free text → county (and township) with a confidence
- ``service``     ``load_file()``: validate + store an operator file, reset the cache
"""
