import pytest
from tests.indicators import warehouse_fixture


@pytest.fixture(scope="session")
def wh(tmp_path_factory):
    return warehouse_fixture.build(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
