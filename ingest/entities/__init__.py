"""Entities (issue 19): the one write module of entity lists, their lists as form media, and submissions' entities."""
