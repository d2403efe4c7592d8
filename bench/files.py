"""Benchmark: upload and download throughput of the file routes against a plain file copy on the
same machine, measured side by side in one run.

A real `consult serve` process on a throwaway store (file store under its DATA_DIR, or with
`--storage s3` an S3 bucket on moto's standalone server started here). One client (httpx) in a
closed loop, the kinds interleaved round by round (ABC...), so load changes hit every kind alike:

- `GET /health` (the trivial route): its latency;
- upload: `POST /upload/document` of a PDF of the size (multipart, streamed from a file on disk);
- download: `GET /storage/proxy?key=...` of that upload with the owner's token, streamed to a file
  on disk, its SHA-256 checked against the source;
- a plain file copy of the same file on the same disk (`shutil.copyfile`), the baseline.

    .venv/bin/python bench/files.py --sizes 1,10 --rounds 12
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import (  # noqa: E402
    API,
    HEALTH,
    bearer,
    bench_store,
    cpu_seconds,
    machine,
    median,
    scenario_server,
    utc_stamp,
)

MB = 1024 * 1024


def make_pdf(path: Path, size: int) -> str:
    head = b"%PDF-1.7\n"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        out.write(head)
        digest.update(head)
        left = size - len(head)
        while left:
            block = secrets.token_bytes(min(MB, left))
            out.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(MB):
            digest.update(block)
    return digest.hexdigest()


def s3_bucket() -> tuple[Any, str]:
    import boto3
    from moto.server import ThreadedMotoServer

    from bench.common import free_port

    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ[name] = value
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench")
    return server, f"s3://bench?endpoint_url={endpoint}&region=us-east-1"


def run(sizes_mb: list[int], rounds: int, storage: str) -> str:
    moto = None
    if storage == "s3":
        moto, os.environ["STORAGE_URL"] = s3_bucket()
    else:
        os.environ.pop("STORAGE_URL", None)
    lines: list[str] = []
    try:
        with (
            bench_store("sqlite", prefix="bench-files-") as (work, settings),
            scenario_server(settings, work) as (served, scenario),
        ):
            http = httpx.Client(base_url=served.url, timeout=120)
            auth = bearer(scenario.client)
            health_ms: list[float] = []
            rows = []
            for size_mb in sizes_mb:
                size = size_mb * MB
                source = work / f"source-{size_mb}.pdf"
                digest = make_pdf(source, size)
                upload_s: list[float] = []
                download_s: list[float] = []
                copy_s: list[float] = []
                upload_cpu: list[float] = []
                download_cpu: list[float] = []
                for index in range(rounds):
                    started = time.perf_counter()
                    assert http.get(HEALTH).status_code == 200
                    health_ms.append((time.perf_counter() - started) * 1000)

                    cpu = cpu_seconds(served.process.pid)
                    started = time.perf_counter()
                    with source.open("rb") as handle:
                        reply = http.post(
                            f"{API}/upload/document",
                            files={"document": (source.name, handle, "application/pdf")},
                            headers=auth,
                        )
                    upload_s.append(time.perf_counter() - started)
                    upload_cpu.append(cpu_seconds(served.process.pid) - cpu)
                    assert reply.status_code == 200, reply.text
                    key = reply.json()["data"]["key"]

                    target = work / f"download-{index}.pdf"
                    cpu = cpu_seconds(served.process.pid)
                    started = time.perf_counter()
                    with (
                        http.stream("GET", f"{API}/storage/proxy", params={"key": key}, headers=auth) as stream,
                        target.open("wb") as out,
                    ):
                        assert stream.status_code == 200
                        for block in stream.iter_bytes(256 * 1024):
                            out.write(block)
                    download_s.append(time.perf_counter() - started)
                    download_cpu.append(cpu_seconds(served.process.pid) - cpu)
                    assert sha256_of(target) == digest, "downloaded bytes differ from the upload"
                    target.unlink()

                    copy = work / f"copy-{index}.pdf"
                    started = time.perf_counter()
                    shutil.copyfile(source, copy)
                    copy_s.append(time.perf_counter() - started)
                    copy.unlink()
                    http.delete(f"{API}/upload", params={"key": key}, headers=auth)
                copy_rate = size_mb / median(copy_s)
                up_rate, down_rate = size_mb / median(upload_s), size_mb / median(download_s)
                rows.append(
                    f"| {size_mb} MB | {up_rate:,.0f} MB/s ({median(upload_s) * 1000:.1f} ms) | "
                    f"{down_rate:,.0f} MB/s ({median(download_s) * 1000:.1f} ms) | "
                    f"{copy_rate:,.0f} MB/s ({median(copy_s) * 1000:.2f} ms) | "
                    f"**{up_rate / copy_rate:.3f}** | **{down_rate / copy_rate:.3f}** | "
                    f"{sum(upload_cpu) * 1000 / (size_mb * rounds):.1f} / {sum(download_cpu) * 1000 / (size_mb * rounds):.1f} ms |"
                )
            http.close()
        lines += [
            f"`bench/files.py --sizes {','.join(map(str, sizes_mb))} --rounds {rounds} --storage {storage}`, "
            f"{utc_stamp()}; {machine()}.",
            "",
            "| file | upload (median) | download (median) | plain copy (median) | upload / copy | download / copy "
            "| server CPU per MB up / down (all rounds) |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"`GET /health` in the same run: median {median(health_ms):.2f} ms.",
        ]
    finally:
        if moto is not None:
            moto.stop()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10", help="file sizes in MB, comma-separated (at most 10)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--storage", choices=["file", "s3"], default="file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(not 1 <= s <= 10 for s in sizes):
        parser.error("sizes must be 1..10 MB (the document limit is 10 MB)")
    print(run(sizes, args.rounds, args.storage))


if __name__ == "__main__":
    main()
