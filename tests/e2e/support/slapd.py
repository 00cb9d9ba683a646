"""A real OpenLDAP server for the tests: Debian's slapd as a normal process on free ports, with a
slapd.conf, a database and TLS certificates of its own, seeded with people and nested groups by slapadd.

It listens on plain LDAP (which also offers StartTLS) and on LDAPS, both with a certificate from a test CA.
Anonymous clients may only bind; reading the tree needs the search account (cn=reader), so the tests show
that `ldap.authentication.bind_dn` is really used.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.support.services import LOOPBACK, Process, free_port, run, wait_for
from tests.e2e.support.tls import TestCA

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "slapd-root-secret"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

# uid → (password, mail or None)
USERS = {
    "alice": ("alice-pw", "alice@corp.example"),
    "bob": ("bob-pw", None),
    "carol": ("carol-pw", "carol@corp.example"),
    "dave": ("dave-pw", None),
    "erin": ("erin-pw", None),
    "frank": ("frank-pw", None),
    "grace": ("grace-pw", None),
    "mallory": ("mallory-pw", None),
}
# cn → members (uids, or "cn=<group>" for a nested group). developers ⊃ backend ⊃ deep: three levels;
# loop-a and loop-b contain each other.
GROUP_MEMBERS = {
    "developers": ["alice", "cn=backend"],
    "backend": ["bob", "cn=deep"],
    "deep": ["erin"],
    "registry-admins": ["carol", "cn=ops"],
    "ops": ["dave"],
    "loop-a": ["cn=loop-b", "frank"],
    "loop-b": ["cn=loop-a", "grace"],
}


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def _member_dn(member: str) -> str:
    return group_dn(member[3:]) if member.startswith("cn=") else user_dn(member)


def seed_ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\n"
        f"userPassword: {READER_PASSWORD}\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for uid, (password, mail) in USERS.items():
        entry = (f"dn: {user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\n"
                 f"sn: {uid.title()}\nuserPassword: {password}\n")
        if mail:
            entry += f"mail: {mail}\n"
        entries.append(entry)
    for cn, members in GROUP_MEMBERS.items():
        entries.append(f"dn: {group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n"
                       + "".join(f"member: {_member_dn(m)}\n" for m in members))
    return "\n".join(entries)


_CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
sizelimit 50000

database mdb
maxsize 67108864
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
index objectClass eq
index uid,member eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by anonymous auth
"""


@dataclass
class Slapd:
    host: str
    port: int  # plain LDAP, StartTLS offered
    tls_port: int  # LDAPS
    ca_file: Path
    process: Process

    def options(self, method: str = "") -> dict[str, object]:
        """The `ldap.*` options that point Portus at this server (searching as the reader account)."""
        return {
            "ldap.enabled": True,
            "ldap.hostname": self.host,
            "ldap.port": self.tls_port if method == "simple_tls" else self.port,
            "ldap.timeout": 5,
            "ldap.encryption.method": method,
            "ldap.encryption.ca_file": str(self.ca_file) if method else "",
            "ldap.base": PEOPLE,
            "ldap.group_base": GROUPS,
            "ldap.filter": "",
            "ldap.uid": "uid",
            "ldap.admin_base": "",
            "ldap.authentication.enabled": True,
            "ldap.authentication.bind_dn": READER_DN,
            "ldap.authentication.password": READER_PASSWORD,
            "ldap.guess_email.enabled": False,
            "ldap.guess_email.attr": "",
            "ldap.group_sync.enabled": True,
            "ldap.group_sync.default_role": "viewer",
        }

    def env(self, method: str = "") -> dict[str, str]:
        """The same options as PORTUS_* variables, for a process of the service."""
        out = {}
        for dotted, value in self.options(method).items():
            name = "PORTUS_" + dotted.replace(".", "_").upper()
            out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return out

    def admin(self):
        """A python-ldap connection bound as the directory's root, to change it from a test."""
        import ldap

        conn = ldap.initialize(f"ldap://{self.host}:{self.port}", bytes_mode=False)
        conn.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
        return conn

    def set_password(self, uid: str, password: str) -> None:
        import ldap

        conn = self.admin()
        try:
            conn.modify_s(user_dn(uid), [(ldap.MOD_REPLACE, "userPassword", [password.encode()])])
        finally:
            conn.unbind_s()

    def remove_user(self, uid: str) -> None:
        conn = self.admin()
        try:
            conn.delete_s(user_dn(uid))
        finally:
            conn.unbind_s()

    def restore_user(self, uid: str) -> None:
        """Adds a removed seed user back, as the seed made it."""
        password, mail = USERS[uid]
        entry = [("objectClass", [b"inetOrgPerson"]), ("uid", [uid.encode()]), ("cn", [uid.title().encode()]),
                 ("sn", [uid.title().encode()]), ("userPassword", [password.encode()])]
        if mail:
            entry.append(("mail", [mail.encode()]))
        conn = self.admin()
        try:
            conn.add_s(user_dn(uid), entry)
        finally:
            conn.unbind_s()

    def set_members(self, cn: str, members: list[str]) -> None:
        import ldap

        conn = self.admin()
        try:
            conn.modify_s(group_dn(cn), [(ldap.MOD_REPLACE, "member", [_member_dn(m).encode() for m in members])])
        finally:
            conn.unbind_s()


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_slapd(folder: Path) -> Slapd:
    """Writes the configuration and certificates into `folder`, loads the seed, starts slapd."""
    for binary in (SLAPD, SLAPADD):
        if not os.path.exists(binary):
            raise FileNotFoundError(f"{binary} is not installed: the LDAP tests need Debian's slapd "
                                    "(scripts/install-system-packages installs slapd and ldap-utils)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir(exist_ok=True)
    ca = TestCA(folder / "ca", name="Portus LDAP test CA")
    issued = ca.issue("slapd", dns=("localhost",), ips=(LOOPBACK,))
    conf = folder / "slapd.conf"
    conf.write_text(_CONF.format(dir=folder, ca=ca.cert, cert=issued.cert, key=issued.key, suffix=SUFFIX,
                                 rootdn=ROOT_DN, rootpw=ROOT_PASSWORD))
    seed = folder / "seed.ldif"
    seed.write_text(seed_ldif())
    run([SLAPADD, "-f", str(conf), "-l", str(seed)], timeout=60)
    port, tls_port = free_port(), free_port()
    urls = f"ldap://{LOOPBACK}:{port}/ ldaps://{LOOPBACK}:{tls_port}/"
    # -d: stay in the foreground (a child of the test run, stopped with it) and log to the file.
    process = Process("slapd", [SLAPD, "-f", str(conf), "-h", urls, "-d", "stats"], log_path=folder / "slapd.log")
    wait_for(lambda: _listening(LOOPBACK, port) and _listening(LOOPBACK, tls_port), timeout=30, what="slapd",
             alive=process.alive, logs=process.log_tail)
    return Slapd(host=LOOPBACK, port=port, tls_port=tls_port, ca_file=ca.cert, process=process)
