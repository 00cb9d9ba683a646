# Production image: gunicorn serving Portus; `manage.py portus_background` as the alternative command.
FROM python:3.11-slim AS build
WORKDIR /src
# python-ldap (LDAP sign-in) is built from source against OpenLDAP's and SASL's headers.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libldap2-dev libsasl2-dev \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY portus portus
COPY accounts accounts
COPY ratelimits ratelimits
COPY teams teams
COPY namespaces namespaces
COPY registries registries
COPY realm realm
COPY mirror mirror
COPY activities activities
COPY api api
COPY web web
COPY ldapauth ldapauth
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
RUN apt-get update && apt-get install -y --no-install-recommends libldap-2.5-0 libsasl2-2 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin portus
COPY --from=build /install /usr/local
WORKDIR /app
COPY --chown=portus:portus . /app
RUN PORTUS_SECRET_KEY_BASE=build-only PORTUS_MACHINE_FQDN=build.invalid \
    python manage.py collectstatic --noinput >/dev/null \
 && rm -rf /app/tests /app/.ci /app/bench && mkdir -p /app/var && chown portus:portus /app/var
USER portus
EXPOSE 8000
# Keys and secrets come from the environment and mounted files: PORTUS_SECRET_KEY_BASE, PORTUS_KEY_PATH,
# PORTUS_CERTIFICATE_PATH, PORTUS_PASSWORD, PORTUS_WEBHOOK_SECRET, PORTUS_MACHINE_FQDN, DATABASE_URL.
# Behind a TLS proxy: PORTUS_TLS_ENABLED=true, and FORWARDED_ALLOW_IPS=<the proxy's address> (gunicorn
# believes X-Forwarded-Proto from that address only). .dockerignore keeps local config and keys out.
CMD ["gunicorn", "portus.wsgi:application", "-c", "portus/gunicorn.conf.py"]
