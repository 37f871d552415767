#!/usr/bin/env python3
"""Uploading a 12-megapixel photograph: the time an upload takes (its sizes are made before it
is answered) and the server's peak memory.

    python3 bench/images.py [--uploads 9] [--width 4000 --height 3000] [--no-record]

It builds the release binary and the `photo` example, which writes a synthetic 4000 × 3000
JPEG (quality 90, EXIF orientation 6, about the bytes of a phone's photograph), starts
Emporium on SQLite in a temporary folder with the default image settings, and uploads the
photograph `--uploads` times, one after the other, as staff. It reports the median, fastest
and slowest upload (the whole request, as the app waits for it), and the server's resident
memory read from /proc/<pid>/status: VmRSS and VmHWM (the peak so far) once logged in, the
peak after the first upload and after all of them, and VmRSS 15 s after the last. Results are printed and appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the benchmark's helpers)

PORT = 18490
BASE = f"http://127.0.0.1:{PORT}"


def call(method: str, path: str, body: bytes | None = None, token: str | None = None,
         content_type: str = "application/json") -> dict:
    request = urllib.request.Request(BASE + path, data=body, method=method)
    request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def multipart(field: str, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=9)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()

    bench.log("building the release binary and the photo example")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "emporium", "--example", "photo"],
                   cwd=bench.ROOT, check=True)
    binary = str(bench.TARGET / "release" / "emporium")
    with tempfile.TemporaryDirectory(prefix="emporium-images-") as folder:
        work = Path(folder)
        photo = work / "photo.jpg"
        made = subprocess.run([str(bench.TARGET / "release" / "examples" / "photo"), str(photo),
                               str(args.width), str(args.height)], check=True, capture_output=True, text=True)
        bench.log(made.stdout.strip())
        data = photo.read_bytes()
        env = {k: v for k, v in os.environ.items() if not (k.startswith("EMPORIUM_") or k == "DATABASE_URL")}
        env.update({
            "DATABASE_URL": f"sqlite://{work}/images.db?mode=rwc",
            "EMPORIUM_LISTEN": f"127.0.0.1:{PORT}",
            "EMPORIUM_SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef",
            "EMPORIUM_MEDIA_ROOT": str(work / "media"),
            "EMPORIUM_THROTTLE_ANON": "off", "EMPORIUM_THROTTLE_USER": "off",
            "RUST_LOG": "warn",
        })
        subprocess.run([binary, "migrate"], env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([binary, "createsuperuser", "--email", bench.STAFF_EMAIL, "--password", bench.STAFF_PASSWORD],
                       env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen([binary, "serve", "--no-worker", "--no-migrate"], env=env, cwd=work,
                                  stdout=open(work / "server.log", "a"), stderr=subprocess.STDOUT)
        try:
            bench.wait_healthy(BASE, server)
            login = json.dumps({"email": bench.STAFF_EMAIL, "password": bench.STAFF_PASSWORD}).encode()
            token = call("POST", "/api/auth/login/", login)["access"]
            category = call("POST", "/api/categories/", json.dumps({"name": "Photos"}).encode(), token)["id"]
            product = call("POST", "/api/products/", json.dumps(
                {"name": "Camera", "price": "10.00", "category": category}).encode(), token)["id"]
            # Let the password hash's memory go (it is released 10 s after the last hash).
            time.sleep(11)
            load = os.getloadavg()[0]
            idle_kib = status_kib(server.pid, "VmRSS")
            peak_before_kib = status_kib(server.pid, "VmHWM")
            times = []
            for n in range(args.uploads):
                body, content_type = multipart("image", "photo.jpg", data)
                started = time.perf_counter()
                image = call("POST", f"/api/products/{product}/images/", body, token, content_type)
                times.append(time.perf_counter() - started)
                if n == 0:
                    bench.log(f"sizes: {json.dumps(image['thumbnails'])}")
                    first_peak_kib = status_kib(server.pid, "VmHWM")
            peak_kib = status_kib(server.pid, "VmHWM")
            time.sleep(15)
            after_kib = status_kib(server.pid, "VmRSS")
        finally:
            server.terminate()
            server.wait(timeout=30)

    median = statistics.median(times) * 1000
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=bench.ROOT,
                              capture_output=True, text=True).stdout.strip()
    lines = [
        f"## Image upload and sizes, {datetime.date.today()} ({revision})",
        "",
        f"`bench/images.py`: release binary on SQLite, default image settings "
        f"({os.cpu_count()} cores). One synthetic {args.width} × {args.height} JPEG "
        f"({len(data) / 1_048_576:.1f} MiB, quality 90, EXIF orientation 6) uploaded {args.uploads} times "
        "in a row; each upload is answered once its three sizes are stored. Memory from "
        f"/proc/<pid>/status of the server. Load average before the uploads: {load:.2f}.",
        "",
        "| upload median | fastest | slowest | RSS before | peak before | peak after one upload "
        "| peak after all | RSS 15 s later |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {median:.0f} ms | {min(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms "
        f"| {idle_kib / 1024:.0f} MiB | {peak_before_kib / 1024:.0f} MiB | {first_peak_kib / 1024:.0f} MiB "
        f"| {peak_kib / 1024:.0f} MiB | {after_kib / 1024:.0f} MiB |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        with open(bench.BENCH / "RESULTS.md", "a") as results_file:
            results_file.write("\n" + text)


if __name__ == "__main__":
    main()
