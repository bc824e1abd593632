"""Forms on the server: drafts, versions and media, choice labels, and the versions a handbook prints."""
