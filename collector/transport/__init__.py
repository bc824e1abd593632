"""Transport hardening: bounded bodies, streamed multipart, request guards and header deadlines."""
