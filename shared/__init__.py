"""Code shared by the Files manager services: engines, signed identity, errors, health."""
