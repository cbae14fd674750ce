"""HTTP load for `make bench`: wrk (Debian's package) driven by a generated Lua script, and the CPU time
our processes spend while it runs.

A scenario is a method, paths taken in turn, headers and a body. wrk reports what it completed, its
errors (connect, read, write, timeouts, and statuses other than 2xx/3xx) and latency percentiles; the
CPU meter sums user and system time of each service's process tree before and after, so that CPU
milliseconds per request exclude the engines and the load generator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

import psutil

WRK_MARK = "WRKJSON "


@dataclass(frozen=True)
class Scenario:
    name: str
    paths: tuple[str, ...]
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class Result:
    scenario: str
    connections: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # per service: CPU milliseconds per completed request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu_ms.values())


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian) for the load scenarios", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "/usr/bin/wrk"


def _lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def lua_script(scenario: Scenario) -> str:
    paths = ", ".join(_lua_string(p) for p in scenario.paths)
    headers = "\n".join(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in scenario.headers.items())
    body = _lua_string(scenario.body) if scenario.body is not None else "nil"
    return f"""
local paths = {{{paths}}}
local body = {body}
local i = 0
{headers}
request = function()
  i = i + 1
  return wrk.format({_lua_string(scenario.method)}, paths[(i % #paths) + 1], nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{WRK_MARK}{{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class CpuMeter:
    """User plus system CPU seconds of each named process and its descendants (gunicorn workers)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}

    def sample(self) -> dict[str, float]:
        totals = {}
        for name, proc in self._procs.items():
            total = 0.0
            for p in (proc, *proc.children(recursive=True)):
                try:
                    times = p.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system
            totals[name] = total
        return totals


def run(
    base_url: str,
    scenario: Scenario,
    meter: CpuMeter,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
    timeout: float = 10.0,
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua_script(scenario))
        script = handle.name
    try:
        before = meter.sample()
        out = subprocess.run(
            [
                ensure_wrk(),
                "-t",
                str(min(threads, connections)),
                "-c",
                str(connections),
                "-d",
                f"{seconds:g}s",
                "--timeout",
                f"{timeout:g}s",
                "-s",
                script,
                base_url,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        after = meter.sample()
    finally:
        os.unlink(script)
    line = next((line for line in out.splitlines() if line.startswith(WRK_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    report = json.loads(line[len(WRK_MARK) :])
    requests = int(report["requests"])
    errors = sum(int(report[k]) for k in ("connect", "read", "write", "status", "timeout"))
    per_request = {name: (after[name] - before[name]) * 1000 / max(requests, 1) for name in after}
    return Result(
        scenario=scenario.name,
        connections=connections,
        requests=requests,
        seconds=report["duration_us"] / 1e6,
        errors=errors,
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        cpu_ms=per_request,
    )
