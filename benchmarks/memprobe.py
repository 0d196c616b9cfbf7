"""Peak memory growth of one request, measured in a process of its own.

``python -m benchmarks.memprobe '{"config": {...}, "email": "...", "url": "..."}'`` builds the
app on an existing (migrated, filled) database, logs in, warms the code path up
with the same request on no rows, then resets the kernel's peak RSS
(``/proc/self/clear_refs``), runs the request reading the body to the end and
prints ``{"growth_mb": …, "seconds": …, "bytes": …}``: the peak resident memory
during the request minus the resident memory before it.
"""
import gc
import json
import sys
import threading
import time


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


class PeakRss:
    """The peak RSS from now on: the kernel's high-water mark once reset, else sampled."""

    def __init__(self):
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
            self._sampler = None
        except OSError:
            self._peak, self._stop = _status_mb("VmRSS"), threading.Event()
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, _status_mb("VmRSS"))
            time.sleep(0.002)

    def peak_mb(self) -> float:
        if self._sampler is None:
            return _status_mb("VmHWM")
        self._stop.set()
        self._sampler.join()
        return max(self._peak, _status_mb("VmRSS"))


def probe(config: dict, email: str, url: str, empty_url: str) -> dict:
    from app import create_app
    from benchmarks.harness import drain, login

    app = create_app(config)
    client = login(app, email)
    drain(client.get(empty_url))  # imports, templates, first connection: not the rows
    gc.collect()
    before = _status_mb("VmRSS")
    peak = PeakRss()
    start = time.perf_counter()
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: status {response.status_code}")
    size = drain(response)
    seconds = time.perf_counter() - start
    return {"growth_mb": round(peak.peak_mb() - before, 1), "before_mb": round(before, 1),
            "seconds": round(seconds, 3), "bytes": size}


def measure(config: dict, email: str, url: str, empty_url: str) -> dict:
    """Run ``probe`` in a subprocess and return its figures."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    argument = json.dumps({"config": config, "email": email, "url": url, "empty_url": empty_url})
    completed = subprocess.run([sys.executable, "-m", "benchmarks.memprobe", argument], cwd=root,
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError("memory probe failed:\n" + completed.stderr[-3000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    print(json.dumps(probe(**arguments)))
