"""Batches of a sequence or a stream: look-ups of 500 keys, inserts of 2,000 rows,
chunks of an import (Python 3.11 has no ``itertools.batched``)."""
from itertools import islice


def chunks(items, size: int):
    """Lists of at most ``size`` items of ``items`` (a list or any iterable), in order."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
