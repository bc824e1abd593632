"""The central database and everything that writes to it (no Flask here)."""
