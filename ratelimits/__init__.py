"""Per-client-address limits on failed logins, counted in the database so every worker and host agrees."""
