"""Page tests run on a complete built-in set, as after the app's first minutes."""
import pytest


@pytest.fixture(scope="session", autouse=True)
def _builtin_set_drawn(builtin_set) -> None:
    pass
