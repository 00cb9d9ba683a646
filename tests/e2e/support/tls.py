"""A certificate authority made by the tests, nginx as a TLS proxy, and a TCP relay, for TLS end to end.

Keys are EC P-256 (quick to make; Go, OpenSSL, nginx and Python all take them). Leaf certificates name
their hosts only in subjectAltName (Go ignores the common name), with the serverAuth usage.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.support.services import LOOPBACK, Process, run, wait_for

NGINX_BINARY = "/usr/sbin/nginx"


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


class TestCA:
    """A CA of its own in ``folder``: ``cert`` (ca.crt) is what clients are told to trust."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, folder: str | os.PathLike, name: str = "Portus e2e test CA") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert = self.folder / "ca.crt"
        self.cert.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> Issued:
        """A server certificate for these host names and addresses, as ``name``.crt / ``name``.key."""
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                           critical=False)
            .sign(self._key, hashes.SHA256())
        )
        issued = Issued(cert=self.folder / f"{name}.crt", key=self.folder / f"{name}.key")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, issued.key)
        return issued


_NGINX_CONF = """# TLS in front of Portus, as deploy/nginx.conf has it.
worker_processes 1;
daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 256; }}
http {{
  access_log {work}/access.log;
  client_body_temp_path {work}/body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
  client_max_body_size 0;
  proxy_request_buffering off;
  server {{
    listen {host}:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location / {{
      proxy_pass {upstream};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
"""


def start_nginx(workdir: str | os.PathLike, *, port: int, upstream: str, tls: Issued, ca_file: Path,
                timeout: float = 30.0) -> Process:
    """nginx terminating TLS on 127.0.0.1:``port`` (certificate ``tls``) in front of ``upstream``
    (``http://127.0.0.1:PORT``); ready once a client that trusts ``ca_file`` gets an answer."""
    import requests

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(work=work, host=LOOPBACK, port=port, cert=tls.cert, key=tls.key,
                                       upstream=upstream))
    run([NGINX_BINARY, "-t", "-q", "-p", str(work), "-c", str(conf)])
    proc = Process("nginx", [NGINX_BINARY, "-p", str(work), "-c", str(conf)], log_path=work / "nginx.log")
    session = requests.Session()
    session.trust_env = False
    try:
        wait_for(lambda: session.get(f"https://{LOOPBACK}:{port}/", verify=str(ca_file), timeout=2) is not None,
                 timeout=timeout, what=f"nginx on {port}", alive=proc.alive,
                 logs=lambda: proc.log_tail() + "\n" + (work / "error.log").read_text()[-3000:])
    except BaseException:
        proc.stop()
        raise
    finally:
        session.close()
    return proc


def start_relay(listen: str, port: int, target: str, *, log_path: Path) -> Process:
    """A byte-for-byte TCP relay from ``listen``:``port`` to ``target``:``port`` (see relay.py)."""
    import socket

    proc = Process("relay", [sys.executable, "-m", "tests.e2e.support.relay", listen, str(port), target],
                   log_path=log_path, cwd=Path(__file__).resolve().parents[3])

    def ready() -> bool:
        with socket.create_connection((listen, port), timeout=1):
            return True

    wait_for(ready, timeout=15, what=f"relay on [{listen}]:{port}", alive=proc.alive, logs=proc.log_tail)
    return proc
