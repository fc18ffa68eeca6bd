"""Mail channel: IMAP polling and parsing that feed ticketing's intake use case (to be built)."""
