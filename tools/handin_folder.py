"""One hand-in build at a time, and each assignment's set replaced whole or not at all (tools/build_reports.py; the
runner takes its file lock too): a second build while one holds the lock is refused; a set is built in a folder of
its own beside reports/<assignment>/ and put in its place only when complete, so that a build that fails or is
interrupted (Ctrl-C) leaves the previous set as it was and no partial folder behind.
"""
import contextlib
import fcntl
import shutil


def lock(path):
    """An exclusive lock on `path` (held until the returned file is closed), or None where another build holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def swap_in(folder, target):
    """Put `folder` in place of `target`; the old `target` is removed only once the new one is there."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    try:
        if target.exists():
            target.rename(old)
        folder.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staging(target):
    """A fresh empty folder beside `target` to build into: put in place of `target` when the block ends, removed
    (`target` left as it was) when the block raises, KeyboardInterrupt included."""
    folder = target.with_name(f".{target.name}.partial")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
        swap_in(folder, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
