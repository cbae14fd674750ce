"""The four Files manager services; none imports another."""
