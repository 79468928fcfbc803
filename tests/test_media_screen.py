"""Saving a downloaded file: a directory (existing, or typed with a trailing slash) takes the file
inside it under the file's own name. Pilot, real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tui.screens.media import MediaScreen

SIZE = (80, 24)


@pytest.fixture
def downloaded(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "media" / "1003383421387256.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xd8\xff a picture")
    return path


async def save_to(app, downloaded: Path, typed: str) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.app.push_screen(MediaScreen(downloaded, "photo"))
        await pilot.pause()
        field = pilot.app.screen.query_one("#media-save", Input)
        field.value = typed
        field.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, MediaScreen), "the screen closes once saved"


@pytest.mark.parametrize("trailing", ["/", ""])
async def test_an_existing_directory_gets_the_file_inside_under_its_own_name(app, downloaded, tmp_path, trailing):
    folder = tmp_path / "Downloads"
    folder.mkdir()
    await save_to(app, downloaded, f"{folder}{trailing}")
    assert (folder / downloaded.name).read_bytes() == downloaded.read_bytes()


async def test_a_new_directory_typed_with_a_trailing_slash_is_made_and_gets_the_file(app, downloaded, tmp_path):
    folder = tmp_path / "new" / "folder"
    await save_to(app, downloaded, f"{folder}/")
    assert folder.is_dir() and (folder / downloaded.name).read_bytes() == downloaded.read_bytes()


async def test_a_file_name_is_used_as_given(app, downloaded, tmp_path):
    await save_to(app, downloaded, str(tmp_path / "out" / "copy.jpg"))
    assert (tmp_path / "out" / "copy.jpg").read_bytes() == downloaded.read_bytes()
