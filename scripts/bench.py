"""`make bench`: transfer speed and memory, measured in one run on loopback against references.

Downloads of one 100 MiB file are timed three ways with curl (the same C client for all): through the
gateway, straight from the files service (with a valid signed identity), and from nginx serving the
same file with sendfile. Uploads stream a 1 GiB multipart body through the gateway. Peak RSS of every
service process is sampled during the 1 GiB transfers. Numbers are printed with their ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.identity import sign  # noqa: E402
from tests.support.engines import Backends  # noqa: E402
from tests.support.memory import peak_rss  # noqa: E402
from tests.support.stack import Stack, free_port  # noqa: E402

MIB = 2**20
RUNS = 7


def curl(*args: str) -> dict[str, float]:
    out = subprocess.run(
        ["curl", "-s", "-S", "--fail", "-o", "/dev/null", "-w", "%{json}", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report: dict[str, float] = json.loads(out)
    return report


def curl_json(*args: str) -> dict[str, object]:
    out = subprocess.run(["curl", "-s", "-S", "--fail", *args], check=True, capture_output=True, text=True).stdout
    report: dict[str, object] = json.loads(out)
    return report


def mib_per_s(result: dict[str, float], key: str) -> float:
    return result[key] / MIB


def best_download(
    url: str, headers: dict[str, str] | None = None, header_factory: Callable[[], dict[str, str]] | None = None
) -> float:
    speeds = []
    for _ in range(RUNS):
        hdrs = header_factory() if header_factory else (headers or {})
        args = [arg for name, value in hdrs.items() for arg in ("-H", f"{name}: {value}")]
        speeds.append(mib_per_s(curl(*args, url), "speed_download"))
    return statistics.median(speeds)


def ensure_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    print("installing nginx-light (Debian) for the reference measurement", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "nginx-light"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
    )
    return shutil.which("nginx") or "/usr/sbin/nginx"


def start_nginx(root: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(
        textwrap.dedent(f"""
        worker_processes 1;
        daemon off;
        pid {workdir}/nginx.pid;
        error_log {workdir}/nginx-error.log;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
            sendfile on;
            tcp_nopush on;
            client_body_temp_path {workdir}/body;
            proxy_temp_path {workdir}/proxy;
            fastcgi_temp_path {workdir}/fastcgi;
            uwsgi_temp_path {workdir}/uwsgi;
            scgi_temp_path {workdir}/scgi;
            server {{ listen 127.0.0.1:{port}; root {root}; }}
        }}
    """)
    )
    proc = subprocess.Popen([ensure_nginx(), "-c", str(conf), "-p", str(workdir)])
    for _ in range(100):
        try:
            curl("--max-time", "1", f"http://127.0.0.1:{port}/")
        except subprocess.CalledProcessError as exc:
            if exc.returncode == 22:  # an HTTP error: nginx answers
                break
        time.sleep(0.05)
    return proc, port


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as handle:
        for _ in range(size // MIB):
            handle.write(block)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="fm-bench-"))
    work.chmod(0o755)  # the nginx worker runs unprivileged and must reach the stored file
    stack = Stack(Backends("embedded"), work, extra_env={"LOG_LEVEL": "WARNING"})
    stack.start()
    nginx = None
    try:
        email = f"bench-{os.getpid()}@example.com"
        curl_json(
            "-X",
            "POST",
            f"{stack.url}/users",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps({"email": email, "password": "bench-password"}),
        )
        token = str(curl_json("-u", f"{email}:bench-password", f"{stack.url}/connect")["token"])
        user_id = str(curl_json("-H", f"X-Token: {token}", f"{stack.url}/users/me")["id"])
        auth = ["-H", f"X-Token: {token}"]

        small, big = work / "file-100m.bin", work / "file-1g.bin"
        make_file(small, 100 * MIB)
        make_file(big, 1024 * MIB)

        view = curl_json(*auth, "-F", "name=bench.bin", "-F", "type=file", "-F", f"data=@{small}", f"{stack.url}/files")
        file_id = str(view["id"])
        stored = Path(next(p for p in stack.folder.iterdir() if not p.name.startswith(".")))
        path = f"/files/{file_id}/data"
        secret = (stack.data_dir / "internal.secret").read_bytes().strip()

        nginx, nginx_port = start_nginx(stack.folder, work)
        gateway = best_download(f"{stack.url}{path}", {"X-Token": token})
        direct = best_download(
            f"{stack.service_url('files')}{path}", header_factory=lambda: sign(secret, user_id, "GET", path)
        )
        reference = best_download(f"http://127.0.0.1:{nginx_port}/{stored.name}")

        pids = {name: proc.pid for name, proc in stack.procs.items()}
        with peak_rss(pids) as up_mem:
            up = curl(*auth, "-F", "name=big.bin", "-F", "type=file", "-F", f"data=@{big}", f"{stack.url}/files")
        upload = mib_per_s(up, "speed_upload")
        big_id = next(
            str(v["id"])
            for v in json.loads(
                subprocess.run(
                    ["curl", "-s", *auth, f"{stack.url}/files"], check=True, capture_output=True, text=True
                ).stdout
            )
            if v["name"] == "big.bin"
        )
        with peak_rss(pids) as down_mem:
            big_down = mib_per_s(curl(*auth, f"{stack.url}/files/{big_id}/data"), "speed_download")

        print(f"\n=== Files manager benchmark (loopback, one run, medians of {RUNS}) ===")
        print(
            f"download 100 MiB via gateway      {gateway:9.1f} MiB/s   {gateway / reference:5.2f}x nginx"
            f"   (target >= 0.50x)"
        )
        print(f"download 100 MiB files direct     {direct:9.1f} MiB/s   {direct / reference:5.2f}x nginx")
        print(f"download 100 MiB nginx sendfile  {reference:9.1f} MiB/s   1.00x (reference)")
        print(f"gateway / files direct            {gateway / direct:9.2f}x")
        print(f"upload 1 GiB multipart via gateway{upload:9.1f} MiB/s   (target >= 200)")
        print(f"download 1 GiB via gateway        {big_down:9.1f} MiB/s")
        print("peak RSS growth over idle during 1 GiB transfers (MiB, target <= 64):")
        for name in pids:
            print(
                f"  {name:<12} idle {up_mem.idle[name] / MIB:6.1f}   upload +{up_mem.growth_mib()[name]:5.1f}"
                f"   download +{down_mem.growth_mib()[name]:5.1f}"
            )
        return 0
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait()
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
