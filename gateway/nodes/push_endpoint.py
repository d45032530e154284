"""Push endpoints: what registration accepts, which addresses the worker may connect to, and
how an endpoint is shown.

Registration (`gateway node add|set-endpoint`) accepts only ``http``/``https`` URLs with a
host, a port in 1–65535 and no fragment; userinfo and a query are allowed (some receivers
want them) but never shown or logged: ``redact`` keeps ``scheme://host[:port]/path``.

The addresses a host may resolve to follow ``GATEWAY_ENDPOINT_ALLOWED_NETWORKS`` (CIDRs):
when set, every address must lie in one of them; when empty, development allows any and
production refuses loopback, link-local (the cloud metadata address 169.254.169.254 among
them), unspecified, multicast and reserved addresses. A host name is resolved at
registration, and again by the worker before a push (cached ``endpoint_check_cache_s``).
The worker connects by name afterwards, so a DNS answer that changes between its check and
httpx's own look-up (DNS rebinding) is not caught: docs/delivery.md names that window.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from gateway.errors import InvalidInput
from message_schemas.errors import FieldError

FIELD = "endpoint"
MAX_LENGTH = 500  # the column's size
SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# refused in production when no allow-list is set, beside the ipaddress flags below
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")

# what the worker records (attempt row ``error``) when it does not send
REFUSED = "endpoint_refused"  # permanent: the address is not allowed
INVALID = "endpoint_invalid"  # permanent: a URL registration would refuse (an old row)
UNRESOLVABLE = "endpoint_unresolvable"  # retried: the name did not resolve in time


def redact(url: str) -> str:
    """``scheme://host[:port]/path``: no userinfo, query or fragment (they may hold
    credentials). What attempt rows store and every listing shows."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid endpoint / 地址无效>"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def syntax_errors(url: str) -> list[FieldError]:
    """What is wrong with ``url`` as a push endpoint, before any look-up."""
    if len(url) > MAX_LENGTH or not url.isprintable() or any(c.isspace() for c in url):
        return [_error("url_format", f"at most {MAX_LENGTH} printable characters, no spaces")]
    try:
        parts = urlsplit(url)
    except ValueError:
        return [_error("url_format", "not a URL / 不是有效地址")]
    errors = []
    if parts.scheme not in SCHEMES:
        errors.append(_error("url_scheme", "http or https only / 仅支持 http(s)"))
    if not parts.hostname:
        errors.append(_error("url_host", "a host is required / 缺少主机名"))
    if _port(parts) == -1:
        errors.append(_error("url_port", "port must be 1–65535 / 端口须在 1–65535"))
    if parts.fragment or "#" in url:
        errors.append(_error("url_fragment", "no #fragment / 不得含 # 片段"))
    return errors


def _port(parts: SplitResult) -> int | None:
    """The port, None when implied by the scheme, -1 when not a port number in 1–65535."""
    try:
        port = parts.port
    except ValueError:
        return -1
    return -1 if port == 0 else port


def _error(rule: str, message: str) -> FieldError:
    return FieldError(FIELD, rule, message)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which addresses an endpoint may resolve to."""

    allowed: tuple[IPNetwork, ...] = ()
    production: bool = False

    @classmethod
    def of(cls, cidrs: Sequence[str], *, production: bool) -> NetworkPolicy:
        return cls(tuple(ipaddress.ip_network(c, strict=False) for c in cidrs), production)

    @property
    def checks(self) -> bool:
        """False: every address is allowed (development with no allow-list), no look-up."""
        return bool(self.allowed) or self.production

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if self.allowed:
            return any(address in network for network in self.allowed)
        if not self.production:
            return True
        return not (
            address.is_loopback
            or address.is_link_local
            or address.is_unspecified
            or address.is_multicast
            or address.is_reserved
            or (isinstance(address, ipaddress.IPv4Address) and address in _THIS_NETWORK)
        )


class Unresolvable(Exception):
    """The host name did not resolve (no answer, an error, or not within the timeout)."""


def resolve(host: str, timeout_s: float) -> list[IPAddress]:
    """The addresses of ``host`` (an IP literal is itself). getaddrinfo has no timeout: it
    runs in a daemon thread we stop waiting for after ``timeout_s``."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    result: list[list[IPAddress] | BaseException] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
            found = [_literal(str(info[4][0]).partition("%")[0]) for info in infos]
            result.append(list(dict.fromkeys(a for a in found if a is not None)))
        except (OSError, UnicodeError) as exc:
            result.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="endpoint-resolve", daemon=True).start()
    if not done.wait(timeout_s) or not result or isinstance(result[0], BaseException):
        raise Unresolvable(host)
    if not result[0]:
        raise Unresolvable(host)
    return result[0]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class EndpointCheck:
    """What registration checks an endpoint against (built from the settings by the caller)."""

    policy: NetworkPolicy
    timeout_s: float = 5.0

    def __call__(self, url: str) -> None:
        check_endpoint(url, self.policy, self.timeout_s)


def check_endpoint(url: str, policy: NetworkPolicy | None, timeout_s: float) -> None:
    """Raise InvalidInput (field ``endpoint``, a rule per problem) unless ``url`` may be
    registered: its syntax, then — when the policy checks addresses — every address of its
    host. ``policy`` None checks the syntax only."""
    errors = syntax_errors(url)
    if not errors and policy is not None and policy.checks:
        host = urlsplit(url).hostname or ""
        try:
            addresses = resolve(host, timeout_s)
        except Unresolvable:
            errors = [
                _error(
                    "endpoint_unresolvable",
                    f"host did not resolve within {timeout_s:g} s / 主机名无法解析",
                )
            ]
        else:
            refused = [str(a) for a in addresses if not policy.allows(a)]
            if refused:
                errors = [
                    _error(
                        "endpoint_network_refused",
                        f"address {', '.join(refused)} not allowed "
                        "(GATEWAY_ENDPOINT_ALLOWED_NETWORKS) / 地址不在允许的网段内",
                    )
                ]
    if errors:
        raise InvalidInput("endpoint refused / 推送地址不可用", errors=errors)


@dataclass
class EndpointGuard:
    """The worker's check before each push: the syntax, then (when the policy checks) the
    host's addresses, looked up at most every ``cache_s`` seconds per host. ``refusal``
    returns None to send, or the reason not to (REFUSED, INVALID, UNRESOLVABLE)."""

    policy: NetworkPolicy
    timeout_s: float
    cache_s: float
    _cache: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    async def refusal(self, url: str) -> str | None:
        if syntax_errors(url):
            return INVALID
        if not self.policy.checks:
            return None
        host = (urlsplit(url).hostname or "").lower()
        cached = self._cache.get(host)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            addresses = await asyncio.to_thread(resolve, host, self.timeout_s)
        except Unresolvable:
            return UNRESOLVABLE  # not cached: the next attempt looks again
        verdict = None if all(self.policy.allows(a) for a in addresses) else REFUSED
        self._cache[host] = (time.monotonic() + self.cache_s, verdict)
        return verdict
