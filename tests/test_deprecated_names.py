"""Names the README documented before they were renamed still work, with a ``DeprecationWarning`` naming the new one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from engine import ArchiveSettings, StaleStatus, Statewright, TransitionNotAllowed
from engine.archive import Archiver
from tests.conftest import MACHINES


def test_app_session_warns_and_is_the_sessionmaker(tmp_path: Path) -> None:
    app = Statewright.from_path(MACHINES, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert isinstance(app.sessionmaker, sessionmaker)
        with pytest.warns(DeprecationWarning, match=r"app\.session is deprecated; use app\.sessionmaker"):
            old = app.session
        assert old is app.sessionmaker
        with old() as session:
            assert session.bind is app.engine
    finally:
        app.close()


def test_archive_keyword_and_attribute_warn_and_still_work(tmp_path: Path) -> None:
    settings = ArchiveSettings(uri=(tmp_path / "archives").as_uri())
    with pytest.warns(DeprecationWarning, match=r"archive=\.\.\.\) is deprecated; use Statewright\(archive_settings"):
        app = Statewright.from_path(MACHINES, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", archive=settings)
    try:
        assert app.archive_settings is settings
        assert isinstance(app.archiver, Archiver)
        with pytest.warns(DeprecationWarning, match=r"app\.archive is deprecated; use app\.archiver"):
            assert app.archive is app.archiver
    finally:
        app.close()


def test_an_errors_event_warns_and_is_its_transition() -> None:
    refused = StaleStatus(machine="document", object_id="1", expected="queued", transition="start")
    not_allowed = TransitionNotAllowed(
        machine="document", state="queued", transition="publish", object_id="1", allowed=["start"]
    )
    assert (refused.transition, not_allowed.transition) == ("start", "publish")
    with pytest.warns(DeprecationWarning, match=r"\.event is deprecated; use \.transition"):
        assert refused.event == "start"
    with pytest.warns(DeprecationWarning, match=r"\.event is deprecated; use \.transition"):
        assert not_allowed.event == "publish"
