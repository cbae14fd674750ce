"""`make bench`: speed, CPU and memory, measured in one run on loopback against references.

`python scripts/bench.py [transfers] [endpoints] [sweep] [listing] [thumbnails]` (all by default; BENCH_SECONDS sets the
length of each load round, 5 s by default).

- transfers: downloads of one 100 MiB file timed three ways with curl (the same C client for all):
  through the gateway, straight from the files service (with a valid signed identity), and from nginx
  serving the same file with sendfile. Uploads stream a 1 GiB multipart body through the gateway, and a
  200 MiB file as a JSON (base64) body, against a multipart upload of the same file. Peak RSS of every
  service process is sampled during the 1 GiB transfers and the JSON upload.
- endpoints: each seed endpoint under wrk (32 connections) on both adapter sets: the embedded set as
  `make run` starts it, the engines as docker-compose.yml runs them (gunicorn). Printed per endpoint:
  requests/s, p50/p99, errors, and CPU milliseconds per request summed over our processes (user plus
  system time of each service's process tree; engines and wrk excluded), with each process's share.
  The reference is one bare aiohttp process answering a small JSON object on the same event loop: the
  floor of one hop, measured in the same run. The engine set has a second reference (scripts/floor_app.py):
  two bare hops with the services' libraries, a Redis GET and an aiohttp proxy, then one PyMongo find_one
  (or a find_one_and_update that changes the document), with no project code: what `GET /files/:id` (or
  `PUT publish`) costs on the engines at the least; and the same operation in one bare process, with no
  hop before it (the original runs in one process). The login throttle is off
  (it counts attempts while they are checked; 32 logins of one account at once would be refused).
- sweep: GET /files/:id at 32, 256 and 1,024 connections on the engines: every request must be answered.
- listing: GET /files pages, one request at a time, with 1,000,000 file records in the SQLite store
  (written straight into the running stack's file), from the first root page to the last.
- thumbnails: the worker's rate on a 12 MP JPEG in one thread (images per CPU-second), and the time from
  an upload's 201 to `thumbnail: ready` with an empty queue on each set.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402

from shared.identity import sign  # noqa: E402
from tests.support.compose import ComposeStack  # noqa: E402
from tests.support.engines import Backends, engines_from_env, unreachable  # noqa: E402
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


def write_json_upload(source: Path, target: Path, name: str) -> None:
    """A POST /files JSON body carrying `source` in base64, written in pieces (the encoder's memory stays small)."""
    with open(source, "rb") as data, open(target, "wb") as out:
        out.write(json.dumps({"name": name, "type": "file"})[:-1].encode() + b', "data": "')
        while block := data.read(3 * MIB):
            out.write(base64.b64encode(block))
        out.write(b'"}')


def transfers() -> None:
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

        mid, mid_json = work / "file-200m.bin", work / "upload-200m.json"
        make_file(mid, 200 * MIB)
        write_json_upload(mid, mid_json, "json.bin")
        as_json = ["-X", "POST", "-H", "Content-Type: application/json", "-T", str(mid_json)]
        with peak_rss(pids) as json_mem:
            json_up = curl(*auth, *as_json, f"{stack.url}/files")["time_total"]
        multipart_up = curl(*auth, "-F", "name=mp.bin", "-F", "type=file", "-F", f"data=@{mid}", f"{stack.url}/files")

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
        print(
            f"upload 200 MiB as JSON (base64)   {json_up:9.2f} s       {200 / json_up:6.1f} MiB/s"
            f"   {multipart_up['time_total'] / json_up:4.2f}x multipart of the same file"
            f"   files RSS +{json_mem.growth_mib()['files']:.1f} MiB (target < 64)"
        )
        print("peak RSS growth over idle during 1 GiB transfers (MiB, target <= 64):")
        for name in pids:
            print(
                f"  {name:<12} idle {up_mem.idle[name] / MIB:6.1f}   upload +{up_mem.growth_mib()[name]:5.1f}"
                f"   download +{down_mem.growth_mib()[name]:5.1f}"
            )
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait()
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)


SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
SERVICES_MEASURED = ("gateway", "auth", "files")
# CPU targets per request, summed over our processes (ms): the original's single process spends 0.9.
CPU_TARGETS = {
    "GET /users/me": 0.9,
    "GET /files/:id": 0.9,
    "GET /files/:id/data 1 KiB": 0.9,
    "PUT publish/unpublish": 0.9,
}
CPU_CEILING = 1.5  # every other endpoint but /connect and uploads


def engines_backends() -> Backends | None:
    backends = engines_from_env(f"fm_bench_{os.getpid()}")
    return None if unreachable(backends) else backends


def http_json(url: str, method: str = "GET", body: object = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
        return json.loads(response.read() or b"null")


@dataclass(frozen=True)
class Account:
    user_id: str
    token: str
    basic: str  # the Authorization header of /connect


def new_account(url: str) -> Account:
    """A new user, signed up and connected."""
    email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "bench-password"
    user_id = http_json(f"{url}/users", "POST", {"email": email, "password": password})["id"]
    basic = "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()
    return Account(user_id, http_json(f"{url}/connect", headers={"Authorization": basic})["token"], basic)


def seed_scenarios(url: str) -> list[loadgen.Scenario]:
    """A user with a 1 KiB file and 20 folders beside it, and one scenario per seed endpoint."""
    account = new_account(url)
    basic, auth = account.basic, {"X-Token": account.token}
    kib = base64.b64encode(os.urandom(1024)).decode()
    file_id = http_json(f"{url}/files", "POST", {"name": "one.txt", "type": "file", "data": kib}, auth)["id"]
    for index in range(20):
        http_json(f"{url}/files", "POST", {"name": f"folder-{index}", "type": "folder"}, auth)
    upload = json.dumps({"name": "upload.txt", "type": "file", "data": kib})
    return [
        loadgen.Scenario("GET /status", ("/status",)),
        loadgen.Scenario("GET /stats", ("/stats",)),
        loadgen.Scenario("GET /connect", ("/connect",), headers={"Authorization": basic}),
        loadgen.Scenario("GET /users/me", ("/users/me",), headers=auth),
        loadgen.Scenario("GET /files/:id", (f"/files/{file_id}",), headers=auth),
        loadgen.Scenario("GET /files (page of 20)", ("/files",), headers=auth),
        loadgen.Scenario("GET /files/:id/data 1 KiB", (f"/files/{file_id}/data",), headers=auth),
        loadgen.Scenario(
            "PUT publish/unpublish", (f"/files/{file_id}/publish", f"/files/{file_id}/unpublish"), "PUT", auth
        ),
        loadgen.Scenario(
            "POST /files 1 KiB JSON", ("/files",), "POST", {**auth, "Content-Type": "application/json"}, upload
        ),
    ]


REFERENCE_APP = """
import sys, uvloop
from aiohttp import web
async def hello(request):
    return web.json_response({"id": "5f1e7d3c9b1e8a0012345678", "email": "bench@example.com"})
app = web.Application()
app.router.add_get("/", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None, loop=uvloop.new_event_loop())
"""


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def reference_floor() -> loadgen.Result:
    """One bare aiohttp process answering a small JSON object: what a single hop costs at the least."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", REFERENCE_APP, str(port)])
    try:
        wait_for_port(port, proc)
        meter = loadgen.CpuMeter({"aiohttp": proc.pid})
        return loadgen.run(f"http://127.0.0.1:{port}", loadgen.Scenario("reference", ("/",)), meter, SECONDS)
    finally:
        proc.terminate()
        proc.wait()


def engines_floor(backends: Backends) -> list[loadgen.Result]:
    """Two bare hops with the services' libraries (scripts/floor_app.py): a Redis GET and an aiohttp proxy, then
    one PyMongo operation. What `GET /files/:id` (a find_one) and `PUT publish` (a find_one_and_update that
    changes the document) cost on the engines with no project code at all; then the same two operations
    asked of the files hop alone, the cost of one bare Python process (as the original runs in one)."""
    env = {**os.environ, **backends.env(), "MONGO_DATABASE": str(backends.mongo_database)}
    script = str(ROOT / "scripts" / "floor_app.py")
    files_port, gateway_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([sys.executable, script, "files", str(files_port)], env=env))
        wait_for_port(files_port, procs[0])
        procs.append(subprocess.Popen([sys.executable, script, "gateway", str(gateway_port), str(files_port)], env=env))
        wait_for_port(gateway_port, procs[1])
        meter = loadgen.CpuMeter({"gateway": procs[1].pid, "files": procs[0].pid})
        token = {"X-Token": "floor-token"}
        scenarios = [
            loadgen.Scenario("floor: find_one", ("/files/1",), headers=token),
            loadgen.Scenario("floor: find_one_and_update", ("/files/1/publish",), "PUT", headers=token),
        ]
        results = [loadgen.run(f"http://127.0.0.1:{gateway_port}", scenario, meter, SECONDS) for scenario in scenarios]
        # The files hop alone, one bare process: what the operation costs in Python with no hop before it.
        alone = loadgen.CpuMeter({"files": procs[0].pid})
        user = {"X-User": "floor-user"}
        singles = [
            loadgen.Scenario("one process: find_one", ("/files/1",), headers=user),
            loadgen.Scenario("one process: find_one_and_update", ("/files/1/publish",), "PUT", headers=user),
        ]
        return results + [loadgen.run(f"http://127.0.0.1:{files_port}", single, alone, SECONDS) for single in singles]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        drop_database(backends)


def print_result(result: loadgen.Result, floor: float) -> None:
    shares = " ".join(f"{name} {result.cpu_ms[name]:.2f}" for name in SERVICES_MEASURED if name in result.cpu_ms)
    target = CPU_TARGETS.get(result.scenario)
    if target is None and result.scenario != "GET /connect" and not result.scenario.startswith("POST"):
        target = CPU_CEILING
    verdict = "" if target is None else f"  target <= {target:.1f} {'ok' if result.cpu_total <= target else 'MISSED'}"
    print(
        f"  {result.scenario:<26} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f}  p99 {result.p99_ms:7.1f} ms"
        f"  errors {result.errors:<4} cpu {result.cpu_total:5.2f} ms/req = {result.cpu_total / floor:4.1f}x floor"
        f"  ({shares}){verdict}",
        flush=True,
    )


def with_stack(backends: Backends, action: Callable[[Stack], None]) -> None:
    """The engines as docker-compose.yml runs them; the embedded set as `make run` starts it (`python -m`)."""
    work = Path(tempfile.mkdtemp(prefix="fm-bench-"))
    stack_class = ComposeStack if backends.real else Stack
    # The login throttle counts attempts while they are checked, so 32 logins of one account at once would
    # mostly be refused (429) and /connect would measure the refusals: it is off here.
    quiet = {"LOG_LEVEL": "WARNING", "LOGIN_MAX_FAILURES": "0", "LOGIN_MAX_FAILURES_PER_ADDRESS": "0"}
    stack = stack_class(backends, work, extra_env=quiet)
    stack.start()
    try:
        action(stack)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
        if backends.real:
            drop_database(backends)


def drop_database(backends: Backends) -> None:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(str(backends.mongo_url), serverSelectionTimeoutMS=5000)
    with client:
        client.drop_database(str(backends.mongo_database))


def meter_of(stack: Stack) -> loadgen.CpuMeter:
    return loadgen.CpuMeter({name: stack.procs[name].pid for name in SERVICES_MEASURED})


def endpoints() -> None:
    floor = reference_floor()
    print(f"\n=== Seed endpoints, wrk, 32 connections, {SECONDS:g} s each (CPU: our processes only) ===")
    print(
        f"reference: one bare aiohttp hop {floor.rps:8.0f} req/s, cpu {floor.cpu_total:.3f} ms/req (the floor)",
        flush=True,
    )
    sets: list[tuple[str, Backends]] = [("embedded, as make run starts it", Backends("embedded"))]
    engines = engines_backends()
    if engines is None:
        print("engines: not reachable (start them: make services); only the embedded set is measured")
    else:
        sets.append(("engines, as docker-compose.yml runs them (gunicorn)", engines))
    for title, backends in sets:
        print(f"\n{title}:", flush=True)
        if backends.real:
            print("  reference: two bare hops, Redis GET + aiohttp proxy + one PyMongo operation, no project code:")
            for two in engines_floor(backends):
                shares = " ".join(f"{name} {ms:.2f}" for name, ms in two.cpu_ms.items())
                print(
                    f"    {two.scenario:<36} {two.rps:6.0f} req/s  p50 {two.p50_ms:6.1f}  p99 {two.p99_ms:7.1f} ms"
                    f"  cpu {two.cpu_total:.2f} ms/req ({shares})",
                    flush=True,
                )

        def run_all(stack: Stack) -> None:
            meter = meter_of(stack)
            for scenario in seed_scenarios(stack.url):
                print_result(loadgen.run(stack.url, scenario, meter, SECONDS), floor.cpu_total)

        with_stack(backends, run_all)


def sweep() -> None:
    engines = engines_backends()
    backends = engines or Backends("embedded")
    print(f"\n=== Concurrency sweep, GET /files/:id, {backends.name} ===", flush=True)

    def run_sweep(stack: Stack) -> None:
        meter = meter_of(stack)
        scenario = next(s for s in seed_scenarios(stack.url) if s.name == "GET /files/:id")
        for connections in (32, 256, 1024):
            result = loadgen.run(stack.url, scenario, meter, SECONDS, connections=connections, timeout=30)
            print(
                f"  {connections:5d} connections {result.rps:8.0f} req/s  p50 {result.p50_ms:7.1f}"
                f"  p99 {result.p99_ms:7.1f} ms  errors {result.errors} (target 0)",
                flush=True,
            )

    with_stack(backends, run_sweep)


LISTING_RECORDS = 1_000_000
LISTING_TARGET_P99_MS = 20.0


def fill_files(sqlite_path: Path, user_id: str) -> tuple[str, int]:
    """1,000,000 records straight into the SQLite file of a running stack: the measured user has 100,000
    in its root (every hundredth with the legacy root "0") and 100 folders of 999 files; 8,000 other users
    have 100 each. Returns one of the folders and the number of root pages."""
    from bson import ObjectId

    now = time.time()
    folders = [str(ObjectId()) for _ in range(100)]

    def rows() -> Any:
        for index in range(100_000):
            yield str(ObjectId()), user_id, f"r{index}", "file", 0 if index % 100 else "0", 1, now
        for folder in folders:
            yield folder, user_id, "folder", "folder", 0, None, now
            for index in range(999):
                yield str(ObjectId()), user_id, f"c{index}", "file", folder, 1, now
        for _ in range(8_000):
            other = str(ObjectId())
            for index in range(100):
                yield str(ObjectId()), other, f"o{index}", "file", 0, 1, now

    import sqlite3

    db = sqlite3.connect(sqlite_path, timeout=30)
    try:
        with db:
            db.executemany(
                "INSERT INTO files (id, user_id, name, type, is_public, parent_id, size, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)",
                ((*row, row[-1]) for row in rows()),
            )
        db.execute("ANALYZE")
    finally:
        db.close()
    return folders[50], (100_000 + len(folders)) // 20


FERRET_LISTING_RECORDS = 20_000


def fill_documents(backends: Backends, user_id: str, count: int) -> None:
    """`count` file documents in MongoDB's `files`: a tenth in the measured user's root, the rest elsewhere."""
    from datetime import UTC, datetime

    from bson import ObjectId
    from pymongo import MongoClient

    now = datetime.now(UTC).replace(tzinfo=None)
    owner = ObjectId(user_id)
    client: MongoClient[dict[str, Any]] = MongoClient(str(backends.mongo_url))
    with client:
        files = client[str(backends.mongo_database)]["files"]
        for start in range(0, count, 1000):
            files.insert_many(
                [
                    {
                        "userId": owner if index < count // 10 else ObjectId(),
                        "name": f"r{index}",
                        "type": "file",
                        "isPublic": False,
                        "parentId": 0,
                        "createdAt": now,
                        "updatedAt": now,
                    }
                    for index in range(start, min(start + 1000, count))
                ]
            )


def listing() -> None:
    """GET /files pages with 1,000,000 file records in the store (SQLite), one request at a time; FerretDB
    reported with fewer (it filters every query outside SQLite: its cost grows with the collection)."""
    print(f"\n=== Listing with {LISTING_RECORDS:,} file records, embedded (SQLite) ===", flush=True)

    def run(stack: Stack) -> None:
        account = new_account(stack.url)
        user_id, token = account.user_id, account.token
        started = time.monotonic()
        folder, pages = fill_files(stack.data_dir / "files_manager.sqlite3", user_id)
        print(f"  filled in {time.monotonic() - started:.1f} s", flush=True)
        meter = meter_of(stack)
        spread = (0, 1, pages // 2, pages - 1)
        scenarios = [
            loadgen.Scenario(
                "root, pages 0 to last", tuple(f"/files?page={p}" for p in spread), headers={"X-Token": token}
            ),
            loadgen.Scenario(
                "folder of 999",
                tuple(f"/files?parentId={folder}&page={p}" for p in (0, 25, 49)),
                headers={"X-Token": token},
            ),
        ]
        for scenario in scenarios:
            result = loadgen.run(stack.url, scenario, meter, SECONDS, connections=1)
            verdict = "ok" if result.p99_ms < LISTING_TARGET_P99_MS else "MISSED"
            print(
                f"  {scenario.name:<24} {result.rps:7.0f} req/s  p50 {result.p50_ms:5.1f}  p99 {result.p99_ms:5.1f} ms"
                f"  errors {result.errors}  cpu {result.cpu_total:5.2f} ms/req"
                f"  (target p99 < {LISTING_TARGET_P99_MS:g} ms: {verdict})",
                flush=True,
            )

    with_stack(Backends("embedded"), run)
    engines = engines_backends()
    if engines is None:
        print("engines: not reachable (start them: make services); FerretDB not measured")
        return
    print(f"\n=== Listing with {FERRET_LISTING_RECORDS:,} file documents, engines (FerretDB) ===", flush=True)

    def run_engines(stack: Stack) -> None:
        account = new_account(stack.url)
        user_id, token = account.user_id, account.token
        started = time.monotonic()
        fill_documents(engines, user_id, FERRET_LISTING_RECORDS)
        print(f"  filled in {time.monotonic() - started:.1f} s", flush=True)
        pages = FERRET_LISTING_RECORDS // 10 // 20
        scenario = loadgen.Scenario(
            "root, pages 0 to last",
            tuple(f"/files?page={p}" for p in (0, pages // 2, pages - 1)),
            headers={"X-Token": token},
        )
        # a page costs seconds there: a round long enough for several whatever BENCH_SECONDS says
        result = loadgen.run(stack.url, scenario, meter_of(stack), max(SECONDS * 2, 15), connections=1, timeout=60)
        print(
            f"  {scenario.name:<24} {result.rps:7.1f} req/s  p50 {result.p50_ms:7.1f}  p99 {result.p99_ms:7.1f} ms"
            f"  errors {result.errors}  cpu (ours) {result.cpu_total:5.2f} ms/req",
            flush=True,
        )

    with_stack(engines, run_engines)


def photo_like_jpeg(path: Path, width: int = 4000, height: int = 3000) -> None:
    """A 12 MP JPEG with about a camera photo's entropy (~3.5 MB at quality 85): decoding cost follows the
    compressed size, so plain noise (twice as large) or flat colour (tiny) would mislead."""
    from PIL import Image, ImageChops

    size = (width, height)
    detail = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 100)
    noise = Image.effect_noise(size, 12)
    bands = (
        ImageChops.add(detail, noise, 1.0, -128),
        ImageChops.add(Image.linear_gradient("L").resize(size), noise, 1.0, -128),
        Image.radial_gradient("L").resize(size),
    )
    Image.merge("RGB", bands).save(path, format="JPEG", quality=85)


THUMBNAIL_RATE_TARGET = 20.0  # images per CPU-second
THUMBNAIL_READY_TARGET = 1.5  # seconds from the upload's 201 to `ready`, queue empty


def thumbnail_ready_after(url: str, token: str, photo: Path) -> float:
    view = curl_json(
        "-H", f"X-Token: {token}", "-F", "name=photo.jpg", "-F", "type=image", "-F", f"data=@{photo}", f"{url}/files"
    )
    answered = time.monotonic()
    deadline = answered + 30
    while time.monotonic() < deadline:
        state = http_json(f"{url}/files/{view['id']}", headers={"X-Token": token}).get("thumbnail")
        if state == "ready":
            return time.monotonic() - answered
        if state == "failed":
            raise RuntimeError("thumbnail failed")
        time.sleep(0.01)
    raise RuntimeError("thumbnail not ready within 30 s")


def thumbnails() -> None:
    """The worker's own rate on a 12 MP JPEG (three sizes, one thread), then the time from an upload's 201
    to `ready` with an empty queue on each set."""
    from services.thumbnailer.images import render_thumbnails

    work = Path(tempfile.mkdtemp(prefix="fm-bench-"))
    try:
        photo = work / "photo.jpg"
        photo_like_jpeg(photo)
        print(
            f"\n=== Thumbnails: 12 MP JPEG ({photo.stat().st_size / MIB:.1f} MiB) to 500, 250 and 100 ===", flush=True
        )
        source = work / "source"
        shutil.copy(photo, source)
        cpu, started, rendered = time.thread_time(), time.perf_counter(), 0
        while time.perf_counter() - started < SECONDS:
            render_thumbnails(str(source), 50_000_000)
            rendered += 1
        rate = rendered / (time.thread_time() - cpu)
        verdict = "ok" if rate >= THUMBNAIL_RATE_TARGET else "MISSED"
        print(
            f"  worker, one thread: {rendered / (time.perf_counter() - started):5.1f} images/s,"
            f" {rate:5.1f} images per CPU-second (target >= {THUMBNAIL_RATE_TARGET:g}: {verdict})",
            flush=True,
        )
        sets: list[tuple[str, Backends]] = [("embedded (SQLite jobs)", Backends("embedded"))]
        engines = engines_backends()
        if engines is not None:
            sets.append(("engines (RabbitMQ jobs)", engines))

        for title, backends in sets:

            def run(stack: Stack, title: str = title) -> None:
                token = new_account(stack.url).token
                waits = sorted(thumbnail_ready_after(stack.url, token, photo) for _ in range(7))
                verdict = "ok" if waits[-1] <= THUMBNAIL_READY_TARGET else "MISSED"
                print(
                    f"  {title:<24} ready after the 201: median {statistics.median(waits):.2f} s,"
                    f" worst {waits[-1]:.2f} s of 7 (target <= {THUMBNAIL_READY_TARGET:g} s: {verdict})",
                    flush=True,
                )

            with_stack(backends, run)
    finally:
        shutil.rmtree(work, ignore_errors=True)


SECTIONS: dict[str, Callable[[], None]] = {
    "transfers": transfers,
    "endpoints": endpoints,
    "sweep": sweep,
    "listing": listing,
    "thumbnails": thumbnails,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        print(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}", file=sys.stderr)
        return 2
    print(f"Files manager benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU(s), {platform.platform()}")
    for name in chosen:
        SECTIONS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
