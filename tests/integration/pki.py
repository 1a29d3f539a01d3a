"""A test CA and server certificates, made with the openssl CLI, for the
SMTP and POP3 test servers and the clients that check them: one
certificate for localhost and 127.0.0.1, one for a wrong host name, one
expired.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TestPki:
    ca_cert: Path
    server_cert: Path  # CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
    server_key: Path
    wrong_cert: Path  # CN/SAN wrong.example.net only
    wrong_key: Path
    expired_cert: Path  # like server_cert, but expired yesterday
    expired_key: Path


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _issue(directory, name, subject, san, ca_cert, ca_key, days="2"):
    ext = directory / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", days, "-out", f"{name}.pem", "-extfile", str(ext),
             cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


def make_test_pki(directory):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=mailqd test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    ca_cert, ca_key = directory / "ca.pem", directory / "ca.key"
    server_cert, server_key = _issue(directory, "server", "/CN=localhost",
                                     "DNS:localhost,IP:127.0.0.1,IP:::1", ca_cert, ca_key)
    wrong_cert, wrong_key = _issue(directory, "wrong", "/CN=wrong.example.net",
                                   "DNS:wrong.example.net", ca_cert, ca_key)
    # -days -1: valid from now, expired since yesterday.
    expired_cert, expired_key = _issue(directory, "expired", "/CN=localhost",
                                       "DNS:localhost,IP:127.0.0.1", ca_cert, ca_key, days="-1")
    return TestPki(ca_cert, server_cert, server_key, wrong_cert, wrong_key,
                   expired_cert, expired_key)
