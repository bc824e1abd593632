"""Entities (issue 19): ODK's entity lists, written by forms and the API, read back scoped by province."""
