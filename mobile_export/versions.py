"""The versions of the packages an artifact was built with (recorded in every manifest)."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def versions(packages) -> dict[str, str]:
    """``{package: version}`` for each installed one of ``packages`` (absent ones are left out)."""
    out = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out
