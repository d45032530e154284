"""Routing by division code: the node with the longest registered prefix covering a code."""
