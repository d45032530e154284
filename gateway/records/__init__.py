"""Raw county records pushed over HTTP, converted by an adapter profile (adapters/)."""
