"""Sign-in against an LDAP directory (django-auth-ldap) and the sync of its groups into teams."""
