"""Messages: ingest, lifecycle, inbox and the answer obligations they carry."""
