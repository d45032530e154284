"""The audit log of every disclosure of personal data, chained by hashes (tamper-evident)."""
