"""The HTTP edge: app factory, dependencies, problem+json handlers, limits."""
