"""`collector export-ctdc`: the case register in the CTDC global data set's variables."""
from __future__ import annotations
