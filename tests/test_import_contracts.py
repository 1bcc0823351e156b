"""The cycle finder behind `make lint`'s "No import cycle between modules" contract."""

from tools.import_contracts import strongly_connected


def groups(edges):
    return sorted(sorted(group) for group in strongly_connected(edges) if len(group) > 1)


def test_a_chain_has_no_cycle():
    assert groups({"a": ["b"], "b": ["c"], "c": []}) == []


def test_it_finds_each_cycle_and_only_its_members():
    edges = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": ["e"], "e": ["d"], "f": ["a"]}

    assert groups(edges) == [["a", "b", "c"], ["d", "e"]]


def test_a_long_cycle_needs_no_recursion():
    size = 5000
    edges = {f"m{i}": [f"m{(i + 1) % size}"] for i in range(size)}

    assert len(groups(edges)[0]) == size
