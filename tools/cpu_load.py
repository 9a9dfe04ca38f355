"""How much CPU other processes used while the runner worked: the system's busy CPU time minus our process tree's.

`Sampler` reads both once a second in a background thread (the runner and the kernel it starts are "our tree";
children they have reaped count as ours too), and `contention` judges the samples. Shares are in cores: 0.25 means
a quarter of one core, on average, went to other work. Steal time (another virtual machine holding our CPU) counts
as other work: it bends timings the same way.
"""
import os
import threading
import time

import psutil

INTERVAL = 1.0  # seconds between samples
WINDOW = 5.0  # seconds: the span of the burst rule
# The mark. A quiet machine stays far below both limits (about 0.01 core of other work on the 2-core machine of the
# runs). MEAN_LIMIT catches steady background work: 0.1 core is 5 % of a 2-core machine, and since torch's intra-op
# threads all wait for the one that is preempted, the slowdown is larger than the share, near the 10 % that
# rules.SPEED_MARGIN still calls "about as fast". PEAK_LIMIT catches a burst (a test run, a build) that averages out
# over a long notebook: half a core for 5 s is enough to make a 2-s epoch a stall (rules.STALL_FACTOR).
MEAN_LIMIT = 0.10  # cores of other work, averaged over the notebook
PEAK_LIMIT = 0.50  # cores of other work, averaged over any WINDOW seconds


def busy_seconds():
    """CPU seconds all cores have spent busy since boot (steal included; guest time is already in user time)."""
    times = psutil.cpu_times()._asdict()
    total = sum(times.values()) - times.get("guest", 0.0) - times.get("guest_nice", 0.0)
    return total - times["idle"] - times.get("iowait", 0.0)


def own_seconds(process):
    """CPU seconds of one process and its reaped children, or None when it is gone."""
    try:
        return sum(process.cpu_times()[:4])
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def tree(root):
    """Process `root` and its live descendants (psutil.Process objects)."""
    top = psutil.Process(root)
    try:
        return [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return [top]


def tree_seconds(root):
    """CPU seconds of process `root` and its descendants, reaped children included (read again if one exits meanwhile:
    its time moves to its parent's)."""
    for _ in range(3):
        seconds = [own_seconds(p) for p in tree(root)]
        if None not in seconds:
            break
    return sum(s for s in seconds if s is not None)


def sample(root):
    """(monotonic time, system busy CPU seconds, CPU seconds of root's tree)."""
    return time.monotonic(), busy_seconds(), tree_seconds(root)


def other_cores(first, last):
    """Cores of other work, on average, between two samples (never below 0)."""
    seconds = last[0] - first[0]
    return max(0.0, ((last[1] - first[1]) - (last[2] - first[2])) / seconds) if seconds > 0 else 0.0


def windows(samples, window=WINDOW):
    """(first, last) sample pairs: the shortest span of at least `window` seconds ending at each sample (the whole
    span when it is shorter)."""
    pairs, start = [], 0
    for end in range(len(samples)):
        while start + 1 < end and samples[end][0] - samples[start + 1][0] >= window:
            start += 1
        if samples[end][0] - samples[start][0] >= window:
            pairs.append((samples[start], samples[end]))
    return pairs or [(samples[0], samples[-1])]


def contention(samples, mean_limit=MEAN_LIMIT, peak_limit=PEAK_LIMIT, window=WINDOW):
    """{"other_cpu_share": mean cores of other work, "peak_5s_share": its busiest window, "marked": over a limit}."""
    mean = round(other_cores(samples[0], samples[-1]), 3)
    peak = round(max(other_cores(a, b) for a, b in windows(samples, window)), 3)
    return {"other_cpu_share": mean, "peak_5s_share": peak, "marked": mean > mean_limit or peak > peak_limit}


def others(root):
    """pid -> (name, CPU seconds) of every process outside root's tree."""
    ours = {p.pid for p in tree(root)}
    found = {}
    for p in psutil.process_iter(["name", "cpu_times"]):
        if p.pid not in ours and p.info["cpu_times"] is not None:
            found[p.pid] = (p.info["name"], sum(p.info["cpu_times"][:2]))
    return found


def busiest(before, after, seconds, top=3):
    """The `top` other processes by cores used between two `others` snapshots `seconds` apart: (name, pid, cores)."""
    used = [(name, pid, (cpu - before.get(pid, (name, 0.0))[1]) / seconds) for pid, (name, cpu) in after.items()]
    return sorted([u for u in used if u[2] > 0.005], key=lambda u: -u[2])[:top]


def busiest_text(found):
    """'name (pid N) 0.84 cores, ...' for `busiest`, or 'none'."""
    return ", ".join(f"{name} (pid {pid}) {cores:.2f} cores" for name, pid, cores in found) or "none"


class Sampler:
    """Samples the CPU once per `interval` in a background thread between `with` entry and exit; `verdict()` judges
    the samples and `busiest()` names the other processes that used the most CPU meanwhile."""

    def __init__(self, root=None, interval=INTERVAL):
        self.root, self.interval, self.samples = os.getpid() if root is None else root, interval, []
        self._stop, self._thread = threading.Event(), None

    def __enter__(self):
        self.before, self.samples = others(self.root), [sample(self.root)]
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.interval):
            self.samples.append(sample(self.root))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append(sample(self.root))
        self.after = others(self.root)
        return False

    def verdict(self):
        """`contention` of the samples taken."""
        return contention(self.samples)

    def busiest(self, top=3):
        """`busiest` other processes over the sampled span."""
        return busiest(self.before, self.after, max(self.samples[-1][0] - self.samples[0][0], 1e-9), top)
