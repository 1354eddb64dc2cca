"""The contract of what a host does beyond uploading: listing, deleting, albums.

One class per capability; test_host_contract.py composes, for each host's contract
class (tests/host_contract.py), the classes of the capabilities its host `supports()`,
so a host that learns to list is tested the moment it does, with no line added here.
Each runs against the host's fake, through the hooks of the host's contract class.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from imgsync.errors import HostError
from imgsync.hosts.base import (
    AlbumHost,
    DeletingHost,
    Host,
    HttpSettings,
    ListingHost,
    make_http_client,
    supports,
)
from imgsync.testing.http import FakeServer
from tests.host_contract import HostContract


def capabilities(contract: type[HostContract]) -> frozenset[str]:
    """What the host of `contract` supports, asked of a host built offline."""
    with httpx.Client() as offline:  # never used: building a host sends nothing
        host = contract().host_at("https://img.example.com/api/v1", offline, contract.secret)
        return supports(host)


class LifeContract:
    """The shared part: the host's own contract (its fake, its hooks) and a host on it."""

    host_contract: ClassVar[type[HostContract]]

    @pytest.fixture
    def hooks(self) -> HostContract:
        return self.host_contract()

    @pytest.fixture
    def fake(self, hooks: HostContract) -> Iterator[FakeServer[Any]]:
        with hooks.start_fake(hooks.variants[0]) as server:
            hooks.unthrottle(server)
            yield server

    @pytest.fixture
    def http(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        settings = HttpSettings(connect_timeout=2.0, read_timeout=5.0, write_timeout=2.0)
        with make_http_client(settings) as client:
            yield client

    @pytest.fixture
    def host(self, hooks: HostContract, fake: FakeServer[Any], http: httpx.Client) -> Host:
        return hooks.make_host(fake, http)

    @staticmethod
    def upload_many(hooks: HostContract, host: Host, folder: Path, count: int) -> list[str]:
        """`count` images of their own bytes uploaded; their URLs."""
        return [host.upload(hooks.request_for(hooks.image_at(folder, n))).url for n in range(count)]


class ListingContract(LifeContract):
    """`list_images`: every image once, over several pages, whatever others do meanwhile."""

    @pytest.fixture
    def many(self, hooks: HostContract, host: Host, tmp_path: Path) -> list[str]:
        """Enough images for three pages and some: their URLs."""
        return self.upload_many(hooks, host, tmp_path, 2 * hooks.page_size + 5)

    def test_every_image_is_listed_once_over_three_pages(self, host: Host, many: list[str]) -> None:
        assert isinstance(host, ListingHost)
        told: list[tuple[int, int | None]] = []

        listed = list(host.list_images(lambda count, total: told.append((count, total))))

        assert sorted(image.url for image in listed) == sorted(many)
        assert len({tuple(sorted(image.handle.items())) for image in listed}) == len(many)
        assert all(image.handle for image in listed)
        assert told and told[-1] == (len(many), len(many))
        assert [count for count, _ in told] == sorted(count for count, _ in told)

    @pytest.mark.parametrize("which", ["listed", "not_listed_yet"])
    def test_an_image_deleted_by_someone_else_mid_listing_skips_nothing(
        self,
        hooks: HostContract,
        fake: FakeServer[Any],
        http: httpx.Client,
        host: Host,
        many: list[str],
        which: str,
    ) -> None:
        assert isinstance(host, ListingHost)
        everything = {image.url: image.handle for image in host.list_images()}
        someone_else = hooks.make_host(fake, http)
        assert isinstance(someone_else, DeletingHost)
        listing = host.list_images()
        first = [next(listing)]  # the first page is read now
        if which == "listed":
            gone = first[0].url
        else:  # the image farthest from the first one listed, in upload order
            gone = many[0] if many.index(first[0].url) > len(many) // 2 else many[-1]
        someone_else.delete(everything[gone])

        rest = list(listing)

        urls = [image.url for image in first + rest]
        assert len(urls) == len(set(urls)), "an image was listed twice"
        assert set(urls) - {gone} == set(many) - {gone}, "an image was skipped"


class DeletingContract(LifeContract):
    """`delete`: the image is gone from the host; an unknown one is no error."""

    def test_a_deleted_image_is_gone_and_the_others_stay(
        self, hooks: HostContract, fake: FakeServer[Any], host: Host, tmp_path: Path
    ) -> None:
        assert isinstance(host, DeletingHost)
        kept, doomed = (host.upload(hooks.request_for(hooks.image_at(tmp_path, n))) for n in (1, 2))

        host.delete(doomed.handle)

        assert hooks.stored_handles(fake) == [dict(kept.handle)]
        host.delete(doomed.handle)  # already gone: no error
        assert hooks.stored_handles(fake) == [dict(kept.handle)]

    def test_a_handle_the_host_cant_use_is_a_value_error_sending_nothing(
        self, fake: FakeServer[Any], host: Host
    ) -> None:
        assert isinstance(host, DeletingHost)
        before = fake.requests

        for handle in ({}, {"url": "https://x/a.png"}, {"key": "../profile"}, {"id": "a/b"}):
            with pytest.raises(ValueError):
                host.delete(handle)

        assert fake.requests == before


class AlbumContract(LifeContract):
    """`albums`: every album with its name; a new one appears (made by the API or by hand)."""

    def test_albums_are_listed_by_name(
        self, hooks: HostContract, fake: FakeServer[Any], host: Host
    ) -> None:
        assert isinstance(host, AlbumHost)
        before = host.albums()

        made = [hooks.make_album(fake, host, name) for name in ("blog", "notes", "博客")]

        found = {album.id: album.name for album in host.albums()}
        assert {album.id for album in before} <= set(found)
        assert [found.get(album_id) for album_id in made] == ["blog", "notes", "博客"]

    def test_can_create_albums_is_told_truly(
        self, hooks: HostContract, fake: FakeServer[Any], host: Host
    ) -> None:
        assert isinstance(host, AlbumHost)
        if "create_album" in supports(host):
            album = host.create_album("made-by-api")
            assert album.name == "made-by-api"
            assert album.id in {a.id for a in host.albums()}
        else:
            with pytest.raises(HostError) as refused:
                host.create_album("made-by-api")
            assert "can't create albums" in str(refused.value)
            assert "made-by-api" not in {a.name for a in host.albums()}


CAPABILITY_CONTRACTS: dict[str, type[LifeContract]] = {
    "list": ListingContract,
    "delete": DeletingContract,
    "albums": AlbumContract,
}
