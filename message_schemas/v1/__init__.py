"""Exchange standard, schema_version 1.0 (交换标准 第1.0版)."""

SCHEMA_VERSION = "1.0"
