"""Streamed exports of a form's records: the shared record walk and one module per format."""
