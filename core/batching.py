"""Batches of a sequence or a stream: look-ups of 500 keys, inserts of 2,000 rows,
chunks of an import (Python 3.11 has no ``itertools.batched``); and the garbage
collector paused while a file's rows are built."""
import gc
from contextlib import contextmanager
from itertools import islice


def chunks(items, size: int):
    """Lists of at most ``size`` items of ``items`` (a list or any iterable), in order."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@contextmanager
def collector_paused():
    """The cyclic garbage collector paused while tens of thousands of small objects are
    built (the rows of a file, their alerts, the page that shows them): each of its
    passes walks every object alive in the process, and a 20,000-row file sets off
    passes that cost a quarter of its control screen. Those objects hold no cycle:
    reference counting frees them; the collector runs again afterwards. Only the
    caller that paused it resumes it (a nested or concurrent pause leaves it so)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
