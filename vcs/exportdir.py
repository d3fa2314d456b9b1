"""What in an export folder cannot be read, said before anything is measured.

Public surface:
    entry_problem(entry) -> str | None

An export folder is read through its directory entries. A symlink is read through (a render
kept on another drive is fine), but a symlink whose target is missing — the drive is not
mounted — or an audio-named entry that is not a file is an error naming it: skipping it would
check, or commit, a set without that stem (the commit would record it as removed).
"""

from __future__ import annotations

import os

__all__ = ["entry_problem"]


def entry_problem(entry: os.DirEntry[str], *, wanted: bool) -> str | None:
    """What makes ``entry`` unusable (one line, naming it and what to do), or None.

    ``wanted``: the entry has a name the export is read for (audio, a tempo map); any other
    entry is only refused when it is a dangling symlink.
    """
    name = entry.name
    try:
        if entry.is_symlink():
            target = os.readlink(entry.path)
            if not os.path.exists(entry.path):
                return (f"{name} is a symlink to {target}, which does not exist (a drive not mounted?): "
                        "mount it, or replace the link with the file, and run this again")
    except OSError as e:
        return f"{name}: cannot read it ({e.strerror})"
    if not wanted:
        return None
    try:
        if entry.is_dir():
            return (f"{name} is a folder, not an audio file: rename it or move it out of the export "
                    "folder")
        if not entry.is_file():
            return f"{name} is not a regular file (a pipe or a device?): export the stem as a file"
    except OSError as e:
        return f"{name}: cannot read it ({e.strerror})"
    return None
