#!/usr/bin/env python3
"""deploy/emporium.env.example against README.md's Settings table, so neither drifts.

Every variable the table names (in backticks, in any column: the S3 row names AWS_* in its
text) must be in the example, set or commented out, and every variable of the example must be in
the table. With a binary (`check-env.py path/to/emporium`), the example's values are also given
to `emporium check` with the database pointed at a closed port and a real secret key: a setting
it cannot read stops it with exit code 2 naming the variable; anything else (exit 1: the
database does not answer) means every value was accepted.
"""

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"


def readme_settings() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Settings\n(.*?)^## ", text, re.S | re.M)
    if not section:
        sys.exit("check-env: README.md has no '## Settings' section")
    rows = [line for line in section.group(1).splitlines() if line.startswith("| `")]
    names = {name for row in rows for name in re.findall(rf"`({NAME})`", row)}
    if len(names) < 20:
        sys.exit(f"check-env: only {len(names)} variables found in README's Settings table")
    return names


def example_settings() -> tuple[set[str], dict[str, str]]:
    named, active = set(), {}
    for line in (ROOT / "deploy/emporium.env.example").read_text().splitlines():
        m = re.match(rf"^(#?)({NAME})=(.*)$", line)
        if not m:
            continue
        commented, name, value = m.groups()
        if name in named:
            sys.exit(f"check-env: {name} appears twice in deploy/emporium.env.example")
        named.add(name)
        if not commented:
            # systemd's EnvironmentFile= takes off one pair of surrounding quotes.
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            active[name] = value
    return named, active


def main() -> None:
    table = readme_settings()
    named, active = example_settings()
    missing, extra = sorted(table - named), sorted(named - table)
    for name in missing:
        print(f"check-env: {name} is in README's Settings table but not in deploy/emporium.env.example")
    for name in extra:
        print(f"check-env: {name} is in deploy/emporium.env.example but not in README's Settings table")
    if missing or extra:
        sys.exit(1)
    print(f"check-env: the {len(table)} variables of README's Settings table are all in "
          f"deploy/emporium.env.example ({len(active)} set, {len(named) - len(active)} commented)")

    if len(sys.argv) > 1:
        binary = str(Path(sys.argv[1]).resolve())
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **active}
        env["DATABASE_URL"] = "postgres://emporium@127.0.0.1:1/emporium"
        env["EMPORIUM_SECRET_KEY"] = secrets.token_urlsafe(48)
        with tempfile.TemporaryDirectory() as cwd:
            env["EMPORIUM_MEDIA_ROOT"] = os.path.join(cwd, "media")
            done = subprocess.run([binary, "check"], cwd=cwd, env=env, capture_output=True,
                                  text=True, timeout=60)
        output = (done.stdout + done.stderr).strip()
        if done.returncode == 2 or done.returncode == 0:
            print(output)
            sys.exit(f"check-env: `emporium check` with the example's values exited "
                     f"{done.returncode} (2: a setting was refused; 0: it cannot have reached "
                     f"127.0.0.1:1)")
        print("check-env: `emporium check` accepted every value of the example (then failed, "
              f"as it must, on the database at 127.0.0.1:1: exit {done.returncode})")


if __name__ == "__main__":
    main()
