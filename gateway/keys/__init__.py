"""The gateway's own secrets (the push signing key, the person-key secret) and private files.

``resolve_secrets(settings)`` (gateway.keys.resolve) fills a Settings' secrets from the
environment, from files named by settings, or — in development only — from secrets generated
once into the data directory; in production it refuses missing, short or public ones.
``gateway.keys.files`` creates private directories and files (0700/0600), atomically.
"""
