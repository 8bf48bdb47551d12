"""Service modules of the portal: every SQL statement of the web layer lives here."""
