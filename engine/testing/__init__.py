"""Testing flows built on Statewright: an app on a temporary SQLite database with the in-process broker,
work run synchronously, a clock you move, and assertions that say what happened.

Also a pytest plugin (registered by the package): the ``statewright`` fixture is a ``FlowTest`` over the
machines named by the ``statewright_machines`` ini option (``machines`` by default)::

    def test_a_document_is_generated_and_published(statewright):
        doc = statewright.add(Document(title="Report"))
        statewright.stub_endpoint("publish", json={"receipt": "R-1"})
        statewright.drain()
        statewright.assert_path(doc, ["queued", "processing", "generated", "publishing", "awaiting_confirmation"])
"""

from engine.testing.clock import FakeClock
from engine.testing.harness import DrainLimitExceeded, FlowTest

__all__ = ["DrainLimitExceeded", "FakeClock", "FlowTest"]
