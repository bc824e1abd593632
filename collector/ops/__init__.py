"""Running the server: its stored public URL, structured logs, Prometheus metrics and health checks."""
