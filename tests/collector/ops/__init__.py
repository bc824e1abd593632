"""Tests of running the server: its public URL, logs, metrics and health checks."""
