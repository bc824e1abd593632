"""Persons across cases: case identities, the matcher, officers' decisions and the reads of pairs and persons."""
