"""Storage: engine, column types and migrations. SQL itself lives in each domain's repository."""
