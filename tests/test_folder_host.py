"""The folder host (hosts/folder.py): a folder of the site, served by a real web server on
loopback, through the host contract and the life contracts; and its own rules."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import ConfigError, HostError, ImageError
from imgsync.hosts.base import DeletingHost, Host, HostProfile, ListingHost, UploadRequest, supports
from imgsync.hosts.folder import FolderHost
from imgsync.privacy import send_plan
from imgsync.testing.http import FakeServer
from tests.host_contract import HostContract
from tests.host_life_contract import DeletingContract, ListingContract
from tests.images import exif_tiff, jpeg_bytes, png_bytes
from tests.site_server import ProjectSite, SiteServer

FOLDER = "static/images"


def folder_host(project: Path, **options: Any) -> FolderHost:
    options = {"path": FOLDER, "url": "/images/"} | options
    return FolderHost(HostProfile("site", "folder", options, project / "imgsync.toml"))


def request_for(path: Path) -> UploadRequest:
    return UploadRequest(path, path.name, "image/png", path.stat().st_size)


class TestFolderContract(HostContract):
    host_class = FolderHost
    # No credentials, no HTTP, no limits: the file system refuses a write, or takes it.
    situations = frozenset({"refusal"})
    bad_options = (
        ({"url": "/images/"}, "'path' is required"),
        ({"path": "  ", "url": "/images/"}, "'path' is required"),
        ({"path": 5, "url": "/images/"}, "'path' is required"),
        ({"path": "/var/www/images", "url": "/images/"}, "'path' must be a folder below"),
        ({"path": "../site/images", "url": "/images/"}, "without '..'"),
        ({"path": "static\\images", "url": "/images/"}, "'path' must be a folder below"),
        ({"path": ".", "url": "/images/"}, "'path' must be a folder below"),
        ({"path": "C:/images", "url": "/images/"}, "'path' must be a folder below"),
        ({"path": ".git/hooks", "url": "/images/"}, "can't be in .git or .imgsync"),
        ({"path": "./.imgsync/x", "url": "/images/"}, "can't be in .git or .imgsync"),
        ({"path": FOLDER}, "'url' is required"),
        ({"path": FOLDER, "url": ""}, "'url' is required"),
        ({"path": FOLDER, "url": "images/"}, "'url' must be a root-relative path"),
        ({"path": FOLDER, "url": "/images/../x/"}, "'url' must be a plain path"),
        ({"path": FOLDER, "url": "/images?v=1"}, "'url' must be a plain path"),
        ({"path": FOLDER, "url": "//cdn.example.com/i/"}, "'url' must be a root-relative"),
        ({"path": FOLDER, "url": "http://blog.example.com/i/"}, "plain http://"),
        ({"path": FOLDER, "url": "https://blog.example.com/i/?v=1"}, "must not hold a query"),
        ({"path": FOLDER, "url": "ftp://blog.example.com/i/"}, "its scheme is ftp:"),
        ({"path": FOLDER, "url": "${SITE_URL}"}, "names the variable ${SITE_URL}"),
        ({"path": FOLDER, "url": "/i/", "name": "{name}{ext}"}, "must contain {md5}"),
        ({"path": FOLDER, "url": "/i/", "name": "../{md5}"}, "without '..'"),
        ({"path": FOLDER, "url": "/i/", "name": "a b/{md5}"}, "'name' may hold only"),
        ({"path": FOLDER, "url": "/i/", "token": "t"}, "unknown key 'token'"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        return ProjectSite()

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {"path": FOLDER, "url": f"{url}/images/"}

    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        assert isinstance(fake, SiteServer)
        profile = HostProfile(
            "t", "folder", self.options(fake.url, ""), fake.root.parent / "x.toml"
        )
        return FolderHost(profile, http)

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, SiteServer)
        (fake.root / "images").write_text("a file where the folder should be")

    def stored_handles(self, fake: FakeServer[Any]) -> list[dict[str, str]]:
        assert isinstance(fake, SiteServer)
        return [{"name": name} for name in sorted(os.listdir(fake.root / "images"))]

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        raise AssertionError("the site server has no command line: no 'fake_command' situation")


class TestFolderListingContract(ListingContract):
    host_contract = TestFolderContract


class TestFolderDeletingContract(DeletingContract):
    host_contract = TestFolderContract


def test_the_contract_leaves_out_what_a_folder_cant_meet() -> None:
    made = {name for name in dir(TestFolderContract) if name.startswith("test_")}
    tests = {name for name in made if callable(getattr(TestFolderContract, name))}

    assert "test_a_refusal_carries_the_hosts_own_words" in tests
    assert "test_success_gives_a_url_that_serves_the_bytes" in tests
    assert "test_a_rate_limit_asks_to_wait" not in tests
    assert "test_wrong_credentials_are_an_auth_error" not in tests
    assert supports(folder_host(Path("blog"))) == {"list", "delete"}


def test_an_image_is_copied_under_its_md5_and_the_same_bytes_are_not_written_again(
    tmp_path: Path,
) -> None:
    image = tmp_path / "My Photo.png"
    image.write_bytes(png_bytes(2, 2))
    md5 = hashlib.md5(image.read_bytes()).hexdigest()
    host = folder_host(tmp_path)

    first = host.upload(request_for(image))
    stored = tmp_path / FOLDER / f"{md5}.png"
    before = os.stat(stored)
    again = host.upload(request_for(image))

    assert first.url == again.url == f"/images/{md5}.png"
    assert first.handle == {"name": f"{md5}.png"}
    assert stored.read_bytes() == image.read_bytes()
    assert (os.stat(stored).st_ino, os.stat(stored).st_mtime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
    )
    assert os.listdir(tmp_path / FOLDER) == [f"{md5}.png"]  # no temp file left
    assert stored.stat().st_mode & 0o044  # readable by the web server


def test_a_stripped_image_is_copied_as_sent_under_the_sent_bytes_md5(tmp_path: Path) -> None:
    photo = tmp_path / "trip.jpg"
    photo.write_bytes(jpeg_bytes(exif=exif_tiff(gps=True)))
    plan = send_plan(photo, "image/jpeg", "location")
    with plan.open() as stream:
        sent = stream.read()
    host = folder_host(tmp_path, name="{name}-{md5}{ext}")

    result = host.upload(UploadRequest(photo, "trip.jpg", "image/jpeg", plan.size, plan=plan))

    md5 = hashlib.md5(sent).hexdigest()
    assert result.url == f"/images/trip-{md5}.jpg"
    assert (tmp_path / FOLDER / f"trip-{md5}.jpg").read_bytes() == sent != photo.read_bytes()


def test_the_identity_is_the_served_url_whatever_the_clone(tmp_path: Path) -> None:
    one = folder_host(tmp_path / "here")
    other = folder_host(tmp_path / "elsewhere" / "clone")
    absolute = folder_host(tmp_path, url="https://blog.example.com/images")

    assert one.identity == other.identity == "folder /images/"
    assert absolute.identity == "folder https://blog.example.com/images/"
    assert str(tmp_path) not in repr(one) + one.identity


def test_a_folder_that_leads_outside_the_project_is_refused(tmp_path: Path) -> None:
    project, outside = tmp_path / "blog", tmp_path / "elsewhere"
    (project / "static").mkdir(parents=True)
    outside.mkdir()
    (project / "static" / "images").symlink_to(outside)

    with pytest.raises(ConfigError, match=r"'path' refused: it is a symbolic link that leads"):
        folder_host(project)


def test_a_link_made_after_the_host_is_refused_at_upload_writing_nothing_outside(
    tmp_path: Path,
) -> None:
    project, outside = tmp_path / "blog", tmp_path / "elsewhere"
    (project / "static").mkdir(parents=True)
    outside.mkdir()
    host = folder_host(project)
    (project / "static" / "images").symlink_to(outside)  # a pull request's link
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())

    with pytest.raises(HostError, match="leads outside"):
        host.upload(request_for(image))

    assert os.listdir(outside) == []


def test_an_unreadable_image_writes_nothing(tmp_path: Path) -> None:
    host = folder_host(tmp_path)

    with pytest.raises(ImageError):
        host.upload(UploadRequest(tmp_path / "gone.png", "gone.png", "image/png", 1))

    assert not (tmp_path / "static").exists()


def test_delete_takes_only_a_file_whose_bytes_match_its_name(tmp_path: Path) -> None:
    host = folder_host(tmp_path)
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    name = host.upload(request_for(image)).handle["name"]
    hand_made = tmp_path / FOLDER / ("0" * 32 + ".png")
    hand_made.write_bytes(b"the site's own file")

    with pytest.raises(HostError, match="was not deleted: its bytes are not those its name says"):
        host.delete({"name": hand_made.name})
    for bad in ("../imgsync.toml", ".hidden", "/etc/passwd", "logo.png", "a/../../x.png"):
        with pytest.raises(ValueError):
            host.delete({"name": bad})
    host.delete({"name": name})

    assert sorted(os.listdir(tmp_path / FOLDER)) == [hand_made.name]
    host.delete({"name": name})  # gone already: no error


def test_listing_shows_every_file_with_its_size_and_time(tmp_path: Path) -> None:
    host = folder_host(tmp_path, name="{md5:.2}/{md5}{ext}")
    assert isinstance(host, ListingHost) and isinstance(host, DeletingHost)
    assert list(host.list_images()) == []  # no folder yet
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    result = host.upload(request_for(image))
    (tmp_path / FOLDER / "logo.png").write_bytes(png_bytes(3, 3))

    listed = {image.name: image for image in host.list_images()}

    assert sorted(listed) == sorted([result.handle["name"], "logo.png"])
    one = listed[result.handle["name"]]
    assert one.url == result.url and one.size == image.stat().st_size
    assert one.uploaded_at.endswith("Z") and one.handle == result.handle


def test_doctor_sees_a_writable_folder_or_one_to_make(tmp_path: Path) -> None:
    host = folder_host(tmp_path)

    assert "does not exist yet" in host.check_access().detail
    (tmp_path / FOLDER).mkdir(parents=True)
    access = host.check_access()

    assert access.verified and "is writable (0 files), served under /images/" in access.detail
    assert os.listdir(tmp_path / FOLDER) == []


def test_doctor_refuses_a_folder_that_leads_outside_or_is_a_file(tmp_path: Path) -> None:
    project, outside = tmp_path / "blog", tmp_path / "elsewhere"
    (project / "static").mkdir(parents=True)
    outside.mkdir()
    host = folder_host(project)
    (project / "static" / "images").symlink_to(outside / "missing")  # dangling, and outside

    with pytest.raises(HostError, match="leads outside"):
        host.check_access()

    (project / "static" / "images").unlink()
    (project / "static" / "images").write_text("a file")
    with pytest.raises(HostError, match="is not a folder"):
        host.check_access()
    assert os.listdir(outside) == []


def test_a_name_whose_stem_holds_hex_is_still_deleted_by_its_md5(tmp_path: Path) -> None:
    host = folder_host(tmp_path, name="{name}-{md5}{ext}")
    image = tmp_path / ("f" * 32 + ".png")  # a stem of 32 hex digits, before the MD5
    image.write_bytes(png_bytes(2, 3))
    name = host.upload(request_for(image)).handle["name"]
    assert name.startswith("f" * 32 + "-")

    host.delete({"name": name})

    assert os.listdir(tmp_path / FOLDER) == []
