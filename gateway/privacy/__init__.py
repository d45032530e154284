"""Personal data at rest: envelope encryption, the keys, signed receipts, retention."""
