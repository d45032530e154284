"""Push delivery: the Redis schedule of messages waiting to be POSTed to their nodes."""
