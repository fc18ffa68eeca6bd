"""Printable documents (PDF acknowledgement slips and letters), rendered from HTML."""
