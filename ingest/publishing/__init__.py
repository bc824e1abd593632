"""Forms on the server: drafts, versions and media, choice labels, handbook sources and encryption keys."""
