"""The stack past one machine, on this one (FM_STACK=replicas): two files services and two thumbnailers,
each with data and files folders of its own, the files services behind nginx (the balancer an operator puts
in front of replicas), one auth, one gateway; the engines and an S3 bucket shared. Nothing on a local disk is
shared, so the black-box suite passing through it shows the services hold no state of their own."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from tests.support.engines import Backends
from tests.support.stack import ROOT, Stack, free_port

REPLICAS = {"files": 2, "thumbnailer": 2}
PORT_VARIABLE = {"files": "FILES_PORT", "thumbnailer": "THUMBNAILER_PORT"}

NGINX_CONF = """
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream files {{
        {servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_read_timeout 300s;
        proxy_send_timeout 300s;
        location / {{ proxy_pass http://files; }}
    }}
}}
"""


class ReplicatedStack(Stack):
    def __init__(self, backends: Backends, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        if not backends.real or os.environ.get("FM_BLOBS") != "s3":
            raise ValueError("replicas run on the engines with their bytes in S3 (FM_BACKENDS=engines FM_BLOBS=s3)")
        super().__init__(backends, workdir, extra_env)
        self.replica_ports = {(name, i): free_port() for name, count in REPLICAS.items() for i in range(count)}
        self.balancer_port = free_port()
        self.ports["files"] = self.balancer_port  # what the gateway, the thumbnailers and the tests call
        self.env["FILES_URL"] = f"http://127.0.0.1:{self.balancer_port}"
        self.env["GATEWAY_SENDFILE"] = "false"  # no volume in common
        # One secret for every process, as on several hosts (each data folder would make its own).
        self.env["INTERNAL_SECRET"] = secrets.token_hex(32)

    # the balancer -------------------------------------------------------------------------------------
    def _start_balancer(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        folder = self.workdir / "nginx"
        folder.mkdir(parents=True, exist_ok=True)
        # max_fails=0: a replica that was down is tried again at once once it is back (the tests restart them).
        servers = " ".join(
            f"server 127.0.0.1:{self.replica_ports[('files', i)]} max_fails=0;" for i in range(REPLICAS["files"])
        )
        conf = folder / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=folder, servers=servers, port=self.balancer_port))
        with open(self.log_path("balancer"), "ab") as log:
            self.procs["balancer"] = subprocess.Popen(
                [nginx, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"], cwd=ROOT, stdout=log, stderr=log
            )

    def start(self) -> None:
        if "balancer" not in self.procs:
            self._start_balancer()
        super().start()

    def stop(self) -> None:
        super().stop()
        balancer = self.procs.pop("balancer", None)
        if balancer is not None and balancer.poll() is None:
            balancer.terminate()
            balancer.wait(timeout=30)

    # replicas ----------------------------------------------------------------------------------------
    def _replica(self, name: str, index: int) -> str:
        return f"{name}-{index + 1}"

    def _replica_env(self, name: str, index: int) -> dict[str, str]:
        """Each replica its own data and files folders: the first the stack's (so what tests put there is
        seen), the others elsewhere."""
        own = self.workdir / self._replica(name, index)
        return {
            **self.service_env(name),
            PORT_VARIABLE[name]: str(self.replica_ports[(name, index)]),
            "DATA_DIR": str(self.data_dir if index == 0 else own / "data"),
            "FOLDER_PATH": str(self.folder if index == 0 else own / "files"),
        }

    def start_service(self, name: str, wait: bool = True) -> None:
        if name not in REPLICAS:
            super().start_service(name, wait)
            return
        for index in range(REPLICAS[name]):
            key = self._replica(name, index)
            with open(self.log_path(key), "ab") as log:
                self.procs[key] = subprocess.Popen(
                    self.command(name), cwd=ROOT, env=self._replica_env(name, index), stdout=log, stderr=log
                )
        if wait:
            self.wait_healthy(name)

    def wait_healthy(self, name: str, timeout: float = 30.0) -> None:
        if name not in REPLICAS:
            super().wait_healthy(name, timeout)
            return
        for index in range(REPLICAS[name]):
            key = self._replica(name, index)
            self.ports[key] = self.replica_ports[(name, index)]
            super().wait_healthy(key, timeout)

    def stop_service(self, name: str, sig: int | None = None) -> None:
        if name not in REPLICAS:
            super().stop_service(name, sig)
            return
        for index in range(REPLICAS[name]):
            super().stop_service(self._replica(name, index), sig)

    def running(self, name: str) -> bool:
        if name not in REPLICAS:
            return super().running(name)
        return all(super(ReplicatedStack, self).running(self._replica(name, i)) for i in range(REPLICAS[name]))

    def log(self, name: str) -> str:
        if name not in REPLICAS:
            return super().log(name)
        return "".join(super(ReplicatedStack, self).log(self._replica(name, i)) for i in range(REPLICAS[name]))

    def service_urls(self, name: str) -> list[str]:
        if name not in REPLICAS:
            return super().service_urls(name)
        return [f"http://127.0.0.1:{self.replica_ports[(name, i)]}" for i in range(REPLICAS[name])]

    def service_url(self, name: str) -> str:
        if name == "thumbnailer":
            return f"http://127.0.0.1:{self.replica_ports[('thumbnailer', 0)]}"
        return super().service_url(name)
