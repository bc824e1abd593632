"""Run nginx with deploy/nginx.conf for the system tests: placed on this machine, in front of live gunicorns.

The upstream and server blocks of deploy/nginx.conf are used as written; only what names this machine changes
(ports, certificate and temporary paths, the upstream's hosts), wrapped in a minimal main configuration.
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import time

from tests.support.live import ROOT

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def self_signed(folder) -> tuple[str, str]:
    """Write a certificate and key for 127.0.0.1 and return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def render(
    folder, http_port: int, https_port: int, upstream: int | list[int], cert: str, key: str, *extra: tuple[str, str]
) -> str:
    """Return a main nginx configuration holding deploy/nginx.conf's upstream and server blocks, placed on this
    machine: its app hosts are gunicorn on the `upstream` port(s); `extra` are more (pattern, replacement)s."""
    servers = (ROOT / "deploy" / "nginx.conf").read_text()
    ports = [upstream] if isinstance(upstream, int) else upstream
    hosts = "".join(f"server 127.0.0.1:{port};\n    " for port in ports)
    for pattern, replacement in [
        (r"server 127\.0\.0\.1:8080;\n\s*(# server \S+;\n\s*)*", hosts),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        (r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};"),
        (r"client_body_temp_path \S+", f"client_body_temp_path {folder / 'body'}"),
        (r"error_log /var/log/nginx/collector-error\.log", f"error_log {folder / 'collector-error.log'}"),
        *extra,
    ]:
        servers, count = re.subn(pattern, replacement, servers)
        assert count >= 1, f"deploy/nginx.conf no longer has {pattern!r}"
    user = "user root;" if os.geteuid() == 0 else ""
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        f"{user}\ndaemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n{temp}\n{servers}\n}}\n"
    )


def start_nginx(folder, https_port: int) -> subprocess.Popen:
    """Run nginx on `folder`/nginx.conf and return its process once it takes connections on `https_port`."""
    nginx = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    atexit.register(nginx.kill)  # if the set-up below fails, the fixture never reaches its teardown
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            break
        except OSError:
            assert nginx.poll() is None, (folder / "error.log").read_text()
            time.sleep(0.1)
    return nginx
