import time

import pytest

from calc import add, div, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2


@pytest.mark.skip(reason="not implemented yet")
def test_mul():
    pass


@pytest.mark.parametrize("a,b,want", [(1, 1, 2), (-1, -1, -3), (0, 0, 0)])
def test_add_table(a, b, want):
    assert add(a, b) == want


def check_positive(x):
    assert x > 0, "expected a positive number"


def test_helper():
    check_positive(-1)


def test_div_zero():
    div(1, 0)


def test_slow():
    time.sleep(0.15)


@pytest.fixture
def broken_fixture():
    raise RuntimeError("fixture setup failed")


def test_uses_broken_fixture(broken_fixture):
    pass
