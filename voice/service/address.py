"""Where the Wyoming service listens: tcp://HOST:PORT or unix://PATH, and whether only this
computer can reach it."""

from __future__ import annotations

import ipaddress
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from knowledge.errors import NumbLegsError

DEFAULT_URI = "tcp://127.0.0.1:10700"  # Wyoming's usual port, this computer only
_EXAMPLES = "tcp://127.0.0.1:10700 or unix:///run/user/1000/numb-legs.sock"


class AddressError(NumbLegsError):
    """The address to listen on cannot be used."""


@dataclass(frozen=True)
class ServiceAddress:
    """A TCP host and port, or the path of a Unix socket."""

    scheme: str  # "tcp" or "unix"
    host: str = ""
    port: int = 0  # 0: the system picks a free port
    path: str = ""

    @classmethod
    def parse(cls, uri: str) -> ServiceAddress:
        """The address URI names; raises AddressError saying what a good one looks like."""
        found = urlparse(uri.strip())
        if found.scheme == "unix":
            path = found.netloc + found.path  # unix://relative.sock has its path in netloc
            if not path:
                raise AddressError(f"{uri!r} names no socket file: use {_EXAMPLES}.")
            return cls("unix", path=path)
        if found.scheme != "tcp":
            raise AddressError(f"numb-legs serve listens on tcp:// or unix://, not {uri!r}: use "
                               f"{_EXAMPLES}.")
        try:
            port = found.port
        except ValueError as err:
            raise AddressError(f"The port in {uri!r} must be a number from 0 to 65535.") from err
        if not found.hostname or port is None:
            raise AddressError(f"{uri!r} needs a host and a port: use {_EXAMPLES}.")
        return cls("tcp", host=found.hostname, port=port)

    @property
    def loopback(self) -> bool:
        """True when only this computer can connect: a Unix socket, localhost or a loopback
        address. A host name other than localhost may resolve to anything, so it counts as wide."""
        if self.scheme == "unix" or self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def uri(self, port: int | None = None) -> str:
        """The address as a URI, with PORT (the one the system chose) in place of 0."""
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port if port is None else port}"


def clear_stale_socket(path: Path) -> None:
    """Remove a Unix socket left by a server that is gone, so PATH can be listened on again.

    Anything else at PATH is left alone and refused: a mistyped --uri must never delete a file,
    and a socket another server still answers on is not taken over."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise AddressError(f"Cannot use {path} as a socket: {err.strerror or err}.") from err
    if not stat.S_ISSOCK(mode):
        raise AddressError(f"{path} exists and is not a socket; numb-legs will not replace it. "
                           "Choose another path for unix://.")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)  # nobody answers: a leftover
        return
    finally:
        probe.close()
    raise AddressError(f"Another program is already serving on {path}: is numb-legs serve "
                       "running already?")
