"""Registered jurisdiction systems (节点) and their credentials."""
