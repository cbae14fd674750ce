"""`python -m services.gateway`: the gateway as `make run` starts it (gunicorn, its workers, the guarded runner)."""

import os

from shared.runner import make_run_command

if __name__ == "__main__":
    command = make_run_command("gateway")
    os.execv(command[0], command)  # noqa: S606 - our own fixed command, no shell wanted
