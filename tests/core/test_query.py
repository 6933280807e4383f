"""Queries: torch-free, stored and read back, older stored lists, the cells a click selects."""
from __future__ import annotations

import subprocess
import sys

import pytest

from pixelplayer_blender.core.errors import PixelPlayerError
from pixelplayer_blender.core.query import Point, Region, from_dict, from_stored


def test_queries_import_without_torch():
    code = "import sys; import pixelplayer_blender.core.query; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("query", [Point(3, 4), Point(3.5, 4, time=1.5), Point(1, 2, 0.5, name="violin"),
                                   Region(0, 1, 20, 30, time=2.0), Region(0, 1, 20, 30, name="double bass")])
def test_to_dict_round_trips(query):
    assert from_dict(query.to_dict()) == query
    assert from_stored(query.to_dict()) == query


def test_the_json_form_is_the_clis():
    assert Point(3, 4, 1.5).to_dict() == {"point": [3, 4], "time": 1.5}
    assert Region(0, 1, 2, 3).to_dict() == {"region": [0, 1, 2, 3], "time": None}
    assert Point(3, 4, name="tuba").to_dict()["name"] == "tuba"


def test_older_stored_lists_still_load():
    assert from_stored([10.0, 20.0, 1.5]) == Point(10, 20, 1.5)
    assert from_stored([1, 2, 30, 40, 2.5]) == Region(1, 2, 30, 40, 2.5)
    with pytest.raises(PixelPlayerError, match="not a stored query"):
        from_stored([1, 2])
    with pytest.raises(PixelPlayerError, match="not a query"):
        from_dict({"circle": [1, 2, 3]})


def test_cells():
    assert Point(0, 0).cells(160, 120, (12, 16)) == (slice(0, 2), slice(0, 2))
    assert Point(80, 60).cells(160, 120, (12, 16)) == (slice(5, 8), slice(7, 10))
    assert Region(10, 10, 11, 11).cells(160, 120, (12, 16)) == (slice(1, 2), slice(1, 2))
    assert Region(0, 0, 160, 120).cells(160, 120, (12, 16)) == (slice(0, 12), slice(0, 16))
    assert Region(0, 0, 160, 120).centre == (80, 60)
