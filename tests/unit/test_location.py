"""rough_location (idp/channels/location.py): what kind of address, else the province in
China or the country, from the bundled offline database; never a city."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator

import pytest

from idp.channels import location
from idp.channels.location import rough_location


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    location._content.cache_clear()
    monkeypatch.setattr(location, "_database", lambda: None)
    yield
    location._content.cache_clear()


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_this_machine(ip: str) -> None:
    assert rough_location(ip) == "本机"


@pytest.mark.parametrize(
    "ip", ["10.1.2.3", "172.16.0.9", "192.168.1.20", "169.254.3.4", "fe80::1", "fd00::5"]
)
def test_private_and_link_local_addresses_are_the_private_network(ip: str) -> None:
    assert rough_location(ip) == "内网"


@pytest.mark.parametrize("ip", [None, "", "not an address", "300.1.1.1", "1.2.3.4/24"])
def test_what_is_not_an_address_is_an_unknown_place(ip: str | None) -> None:
    assert rough_location(ip) == "未知地区"


@pytest.mark.parametrize(
    ("ip", "place"),
    [
        ("183.60.0.1", "广东省"),  # a Shenzhen address: the province, not the city
        ("61.135.169.121", "北京"),
        ("114.114.114.114", "江苏省"),
        ("::ffff:183.60.0.1", "广东省"),  # IPv4 in IPv6 clothing
        ("8.8.8.8", "美国"),
        ("1.1.1.1", "澳大利亚"),
    ],
)
def test_public_addresses_give_the_province_or_the_country(ip: str, place: str) -> None:
    assert rough_location(ip) == place


def test_a_public_ipv6_address_is_an_unknown_place() -> None:
    assert rough_location("2400:3200::1") == "未知地区"  # the database covers IPv4 only


def test_never_a_city() -> None:
    content = location._content()
    assert content is not None
    rng = random.Random(13)
    checked = 0
    while checked < 3000:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if not ip.is_global:
            continue
        checked += 1
        fields = location._region(content, int(ip)).split("|")
        answer = rough_location(str(ip))
        assert answer in {fields[0], fields[2], "未知地区"}, (ip, fields, answer)
        if fields[3] not in ("0", fields[2]):
            assert answer != fields[3], (ip, fields)


def test_without_the_database_a_public_address_is_an_unknown_place(no_database: None) -> None:
    assert rough_location("183.60.0.1") == "未知地区"
    assert rough_location("127.0.0.1") == "本机"  # what needs no database still works
