"""Which URLs newsqa fetches for its users: http(s) only, no credentials, the default ports, public addresses.

Anyone who can use the app can make it fetch a URL and read what came back, so a URL pointing inside the
server's network (a Chroma server on 127.0.0.1, a cloud metadata service on 169.254.169.254, an admin page
on 10.0.0.5, or a public name or redirect that leads there) is refused. The address checks are ssrfguard's:
it decodes numeric tricks (2130706433, 0x7f.0.0.1, ::ffff:127.0.0.1), resolves a name once, checks every
answer, and connects to the address it checked while keeping the name for the Host header and TLS, so a
second DNS answer cannot swap an internal address in. `allow_private_urls` (an operator's intranet) lifts
the address and port rules; the scheme and credential rules always hold.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
from urllib.parse import urlsplit

import httpx
from ssrfguard import BlockedAddressError, BlockedURLError, Policy, ProxyUnsupportedError, SSRFGuardError, resolve
from ssrfguard.httpx import Client as GuardedClient

ALLOW_PRIVATE = "set NEWSQA_ALLOW_PRIVATE_URLS=true to allow internal addresses"
DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

def resolve_host(*args, **kwargs):
    # socket.getaddrinfo looked up at each call, so a test's resolver (a public-looking name for 127.0.0.1) is used.
    return socket.getaddrinfo(*args, **kwargs)


def public_policy() -> Policy:
    """ssrfguard's defaults: http and https on ports 80 and 443, no credentials, no loopback, private,
    link-local, multicast, unspecified or reserved address in any spelling, and a name that resolves to both a
    public and an internal address refused whole. Tests replace it to let one fixture through."""
    return Policy()


def is_url(text: str) -> bool:
    return urlsplit(text.strip()).scheme.lower() in ("http", "https")


def looks_like_url(text: str) -> bool:
    """A URL of any scheme (file://, ftp://...), which is refused as a URL rather than looked for as a file."""
    return bool(_SCHEME.match(text.strip()))


def open_client(allow_private: bool, **options) -> httpx.Client:
    """An httpx client for fetching users' URLs: with `allow_private` a plain one, else one that connects only
    to the public addresses it checked. Raises ProxyUnsupportedError when a proxy is configured (HTTPS_PROXY...)
    and addresses are checked: the proxy would resolve the names itself, out of the checks' reach."""
    if allow_private:
        return httpx.Client(**options)
    return GuardedClient(policy=public_policy(), resolver=resolve_host, **options)


def refused(url: str, allow_private: bool) -> str | None:
    """Why `url` is not fetched (one clause, without the URL), or None. A name is resolved here to say so
    before anything is sent; the guarded client checks again at each connection, so this check is the clear
    message, not the guarantee."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port that is not a number, a malformed IPv6 literal
        return f"is not a valid URL ({exc})"
    if not is_url(url):
        return "is not an http(s) URL; only http and https addresses are fetched"
    if parts.username is not None or parts.password is not None:
        return "carries a user name or password; not fetched: remove them from the URL"
    if allow_private:
        return None
    policy = public_policy()
    # The address first, whatever the port: "internal address" is the reason that matters for 127.0.0.1:8000.
    any_port = dataclasses.replace(policy, allowed_ports=policy.allowed_ports | {port or DEFAULT_PORTS[parts.scheme.lower()]})
    try:
        resolve(any_port.check_url(url), policy=any_port, resolver=resolve_host)
    except SSRFGuardError as exc:
        return refusal_reason(url, exc)
    except OSError:  # a name that does not resolve: the fetch says it cannot connect
        pass
    if port is not None and port not in policy.allowed_ports:
        return (
            f"uses port {port}, and only the default ports (80 for http, 443 for https) are fetched: not fetched; "
            "set NEWSQA_ALLOW_PRIVATE_URLS=true to allow other ports and internal addresses"
        )
    return None


def refusal_reason(url: str, exc: SSRFGuardError) -> str:
    """ssrfguard's refusal as one clause a user can act on."""
    if isinstance(exc, ProxyUnsupportedError):
        return (
            f"a proxy is configured ({exc.proxy}), and through a proxy the address checks cannot hold: not fetched; "
            f"unset the proxy, or {ALLOW_PRIVATE} and fetch through it"
        )
    if isinstance(exc, BlockedAddressError):
        return f"resolves to {exc.address}, an internal address ({exc.reason}): not fetched; {ALLOW_PRIVATE}"
    if isinstance(exc, BlockedURLError):
        host = urlsplit(url).hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return f"is refused ({exc.reason}): not fetched"
        return f"is the address {host}, an internal address ({exc.reason}): not fetched; {ALLOW_PRIVATE}"
    return f"is refused ({exc}): not fetched"
