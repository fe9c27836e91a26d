"""The one error type of the export and artifact layer.

``ExportError`` is a ``ValueError``: every CLI of the project (``python -m mobile_export``,
``python -m tqcodec decode --artifact``, the profilers) prints it as one line and exits 2,
never as a traceback.  ``ArtifactError`` is the refusal to open an artifact: its message
names the file, and where it applies, the offset or key and what was expected.
"""
from __future__ import annotations


class ExportError(ValueError):
    """A usage or input problem (bad argument, missing or unreadable file): one line, no traceback."""


class ArtifactError(ExportError):
    """An artifact or its manifest that must not be run (missing, edited, malformed, inconsistent)."""
