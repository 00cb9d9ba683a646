"""Identities from elsewhere: sign-in with OpenID Connect / OAuth providers, and keyless CI logins."""
