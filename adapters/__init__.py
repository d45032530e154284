"""Local formats in and out (county exports → standard messages; reference county client)."""
