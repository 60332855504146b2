"""Helpers shared by the Python conformance suites (imported, never run on its own: no run.sh)."""
import socket


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now, for a server a suite starts itself."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
