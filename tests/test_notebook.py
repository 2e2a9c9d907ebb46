"""examples/quickstart.ipynb runs end to end (issue 7.2): executed with nbclient in a
fresh kernel, every cell without error, both plots drawn."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"
NEEDED = ("nbclient", "nbformat", "ipykernel", "matplotlib")


def _missing() -> list[str]:
    return [m for m in NEEDED if importlib.util.find_spec(m) is None]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    missing = _missing()
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed (pip install -e '.[test]'): cannot execute the notebook"
        )
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("notebook")
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return nb


def test_notebook_is_valid():
    if importlib.util.find_spec("nbformat") is None:
        pytest.skip("nbformat not installed (pip install -e '.[test]')")
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for needle in (
        "egoexo_sql.demo.generate(",
        "egoexo_sql.build(",
        "cat.sql(",
        "cat.table(",
        "cat.takes(",
        "plt.",
    ):
        assert needle in sources


def test_notebook_runs_end_to_end(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2, "the two plots (takes per scenario and split; keystep durations)"


def test_notebook_selects_takes(executed):
    text = "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "egoexo -o egoexo_download --parts takes --uids " in text
    assert "Late Expert" in text
