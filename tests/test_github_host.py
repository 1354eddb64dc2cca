"""GitHubHost against the fake GitHub: the host contract, the life contracts (list, delete),
and what is GitHub's own: content addressing, 409 and 422, both rate limits, the branch,
the folder, the public URL, large files, the repository check."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import (
    AuthError,
    HostError,
    ImageError,
    RateLimited,
    TransientHostError,
    WrongEndpoint,
)
from imgsync.hosts import github as github_module
from imgsync.hosts.base import Host, HostProfile, UploadRequest, supports
from imgsync.hosts.github import GitHubHost
from imgsync.hosts.github_sent import Sent
from imgsync.testing.fake_github import FakeGitHub, FakeGitHubEnterprise
from imgsync.testing.http import FakeServer
from tests.host_contract import SIZE_LIMIT_KB, HostContract
from tests.host_life_contract import CAPABILITY_CONTRACTS, capabilities
from tests.images import png_bytes

TOKEN = "ghp_contractTokenXXXXXXXXXXXXXXXXXXXXXXXXX"
REPO = "writer/blog-images"
CONFIG = Path("imgsync.toml")


def raw_template(api: str) -> str:
    """The fakes serve raw files beside the API: under /raw of the site."""
    return api.removesuffix("/api/v3") + "/raw/{repo}/{branch}/{path}"


class TestGitHubContract(HostContract):
    host_class = GitHubHost
    secret = TOKEN
    wrong_secret = "ghp_" + "w" * 36
    variants = ("github.com", "enterprise")
    # A rate limit holds the host back (nothing sent until the wait is over): one, last.
    secret_faults = ("500", "502", "html", "reset", "hang", "secondary")
    api_words = ("not from the GitHub API", "https://api.github.com", "/api/v3")
    server_error_words = "Server Error"
    fake_command = ("imgsync.testing.fake_github", "--token", "T", "--quiet")
    page_size = 5  # GitHub's tree is one reply: any number of images will do
    bad_options = (
        ({"token": "t"}, "'repo' is required"),
        ({"repo": "me", "token": "t"}, "'repo' must be owner/name"),
        ({"repo": "https://github.com/me/x", "token": "t"}, "'repo' must be owner/name"),
        ({"repo": "me/..", "token": "t"}, "'repo' must be owner/name"),
        ({"repo": "me/x"}, "'token' is required"),
        ({"repo": "me/x", "token": "t", "api_url": "https://x"}, "unknown key 'api_url'"),
        ({"repo": "me/x", "token": "t", "url": "api.github.com"}, "starting with http"),
        ({"repo": "me/x", "token": "t", "url": "https://x/?a=1"}, "must not hold a query"),
        ({"repo": "me/x", "token": "t", "branch": "a..b"}, "'branch' must be a branch name"),
        ({"repo": "me/x", "token": "t", "branch": "-x"}, "'branch' must be a branch name"),
        ({"repo": "me/x", "token": "t", "branch": "a b"}, "'branch' must be a branch name"),
        ({"repo": "me/x", "token": "t", "branch": 5}, "'branch' must be a branch name"),
        ({"repo": "me/x", "token": "t", "path": "../up"}, "'path' must be a folder"),
        ({"repo": "me/x", "token": "t", "path": "my images"}, "'path' must be a folder"),
        ({"repo": "me/x", "token": "t", "path": 5}, "'path' must be a folder"),
        ({"repo": "me/x", "token": "t", "name": "{sha}"}, "unknown placeholder(s) ['sha']"),
        ({"repo": "me/x", "token": "t", "name": "same.png"}, "'name' must contain {md5}"),
        ({"repo": "me/x", "token": "t", "public_url": "{path}"}, "not an absolute URL"),
        ({"repo": "me/x", "token": "t", "public_url": "https://c/{file}"}, "['file']"),
        ({"repo": "me/x", "token": "t", "public_url": "https://c/x.png"}, "must contain {path}"),
        ({"repo": "me/x", "token": "t", "public_url": "http://c.example/{path}"}, "plain http"),
        ({"repo": "me/x", "token": "t", "public_url": "https://c/{path"}, "not a valid template"),
        ({"repo": "me/x", "token": "t", "message": "add {file}"}, "only the placeholder {path}"),
        ({"repo": "me/x", "token": "t", "message": ""}, "'message' must be a non-empty"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        kind = FakeGitHubEnterprise if variant == "enterprise" else FakeGitHub
        return kind(token=TOKEN, max_size_kb=SIZE_LIMIT_KB)

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {
            "url": url,
            "token": secret,
            "repo": REPO,
            "path": "img/",
            "public_url": raw_template(url),
        }

    def host_at(self, url: str, http: httpx.Client, secret: str, **more: Any) -> Host:
        host = super().host_at(url, http, secret, **more)
        assert isinstance(host, GitHubHost)
        host.write_interval = 0.0  # GitHub's second between commits, not in tests
        return host

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, FakeGitHub)
        fake.can_push = False  # a token that may read the repository only

    def unthrottle(self, fake: FakeServer[Any]) -> None:
        assert isinstance(fake, FakeGitHub)
        fake.rate_limit = None

    def stored_handles(self, fake: FakeServer[Any]) -> list[dict[str, str]]:
        assert isinstance(fake, FakeGitHub)
        return [{"path": path} for path in sorted(fake.files())]

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        content = base64.b64encode(png_bytes()).decode()
        body = {"message": "by hand", "content": content}
        where = f"{url}/repos/writer/blog-images/contents/a.png"
        refused = client.put(where, headers={"Authorization": "Bearer X"}, json=body)
        assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"
        made = client.put(where, headers={"Authorization": "Bearer T"}, json=body)
        assert made.status_code == 201
        assert client.get(made.json()["content"]["download_url"]).content == png_bytes()


# What the host does beyond uploading (tests/host_life_contract.py), held to the same
# contracts as the other hosts: a class per capability it supports.
for _capability in sorted(capabilities(TestGitHubContract)):
    _name = f"TestGitHub{CAPABILITY_CONTRACTS[_capability].__name__}"
    globals()[_name] = type(
        _name, (CAPABILITY_CONTRACTS[_capability],), {"host_contract": TestGitHubContract}
    )


def test_github_is_held_to_listing_and_deleting() -> None:
    with httpx.Client() as offline:
        host = TestGitHubContract().host_at("https://api.github.com", offline, TOKEN)
    assert supports(host) == {"list", "delete"}
    assert "TestGitHubListingContract" in globals() and "TestGitHubDeletingContract" in globals()


# ---- GitHub's own ---------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as server:
        yield server


def github(fake: FakeGitHub, http: httpx.Client, **options: Any) -> GitHubHost:
    merged = TestGitHubContract().options(fake.url, TOKEN) | options
    kept = {key: value for key, value in merged.items() if value is not None}
    host = GitHubHost(HostProfile("blog", "github", kept, CONFIG), http)
    host.write_interval = 0.0
    return host


def request_for(path: Path) -> UploadRequest:
    return UploadRequest(path, path.name, "image/png", path.stat().st_size)


def image(folder: Path, n: int = 0, padding: int = 0) -> Path:
    path = folder / f"photo {n}.png"
    path.write_bytes(png_bytes(3, 2, (n, 7, 9)) + b"\0" * padding)
    return path


def test_the_file_is_named_by_its_md5_and_a_second_upload_commits_nothing(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = github(fake, http_client)
    path = image(tmp_path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()

    first = host.upload(request_for(path))
    requests = fake.requests
    again = github(fake, http_client).upload(request_for(path))  # a new run: a lost cache

    assert first == again
    assert first.handle == {"path": f"img/{md5}.png"}
    assert first.url == f"{fake.site}/raw/{REPO}/main/img/{md5}.png"
    assert fake.puts == 1 and fake.requests == requests + 1  # one GET, no PUT
    assert fake.files() == {f"img/{md5}.png": path.read_bytes()}


def test_a_file_committed_between_our_read_and_our_put_is_a_success(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    fake.race_next_put = 1  # the 422 "sha wasn't supplied": the same bytes, by someone else
    result = github(fake, http_client).upload(request_for(image(tmp_path)))

    assert fake.statuses[422] == 1 and fake.puts == 0
    assert http_client.get(result.url).content == image(tmp_path).read_bytes()


def test_a_moved_branch_is_read_again_and_the_commit_sent_again(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    fake.conflicts_next = 2
    github(fake, http_client).upload(request_for(image(tmp_path)))
    assert fake.statuses[409] == 2 and fake.puts == 1


def test_a_branch_that_keeps_moving_is_a_transient_error(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    fake.conflicts_next = 10
    with pytest.raises(TransientHostError, match="409 Conflict 4 times") as caught:
        github(fake, http_client).upload(request_for(image(tmp_path)))
    assert caught.value.retryable and fake.puts == 0


def test_other_bytes_under_our_name_are_refused_not_linked(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    path = image(tmp_path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    fake.commit_by_hand(f"img/{md5}.png", b"edited by hand")

    with pytest.raises(HostError, match="already exists in writer/blog-images with other content"):
        github(fake, http_client).upload(request_for(path))
    assert fake.puts == 0


def test_the_primary_rate_limit_waits_until_the_reset_and_sends_nothing_meanwhile(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = github(fake, http_client)
    fake.fail_next("primary")

    with pytest.raises(RateLimited) as caught:
        host.upload(request_for(image(tmp_path)))
    before = fake.requests
    with pytest.raises(RateLimited) as paced:
        host.upload(request_for(image(tmp_path, 1)))

    assert caught.value.status == 403 and 50 < (caught.value.retry_after or 0) <= 61
    assert "API rate limit exceeded" in str(caught.value)
    assert paced.value.status is None and fake.requests == before  # the budget held it back


@pytest.mark.parametrize(("fault", "status"), [("secondary", 403), ("429", 429)])
def test_the_secondary_rate_limit_waits_as_retry_after_says(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path, fault: str, status: int
) -> None:
    fake.fail_next(fault)  # type: ignore[arg-type]
    with pytest.raises(RateLimited) as caught:
        github(fake, http_client).upload(request_for(image(tmp_path)))
    assert (caught.value.status, caught.value.retry_after) == (status, 30.0)
    assert "secondary rate limit" in str(caught.value)


def test_after_a_secondary_limit_nothing_is_sent_until_the_wait_is_over(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = github(fake, http_client)
    result = host.upload(request_for(image(tmp_path)))
    fake.fail_next("secondary")
    with pytest.raises(RateLimited):
        host.upload(request_for(image(tmp_path, 1)))
    before = fake.requests

    for act in (lambda: host.delete(result.handle), lambda: list(host.list_images())):
        with pytest.raises(RateLimited) as held:
            act()
        assert held.value.status is None and 25 < (held.value.retry_after or 0) <= 30

    assert fake.requests == before and fake.deletes == 0  # a prune would not keep knocking


def test_a_read_only_token_is_refused_with_githubs_words(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    fake.can_push = False
    with pytest.raises(AuthError) as caught:
        github(fake, http_client).upload(request_for(image(tmp_path)))
    assert caught.value.host_message == "Resource not accessible by personal access token"
    assert "Contents: read and write" in caught.value.message


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"branch": "images"}, "the branch 'images' does not exist in writer/blog-images"),
        ({"repo": "writer/other"}, "the repository does not exist, or the token may not see it"),
    ],
)
def test_a_missing_branch_or_repository_is_said_plainly(
    fake: FakeGitHub,
    http_client: httpx.Client,
    tmp_path: Path,
    options: dict[str, str],
    words: str,
) -> None:
    with pytest.raises(WrongEndpoint, match=words) as caught:
        github(fake, http_client, **options).upload(request_for(image(tmp_path)))
    assert caught.value.about_host


def test_a_large_file_is_streamed_whole_and_found_again_over_one_megabyte(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    path = image(tmp_path, padding=1_500_001)  # base64 is inline only up to 1 MB
    result = github(fake, http_client).upload(request_for(path))
    again = github(fake, http_client).upload(request_for(path))

    assert result == again and fake.puts == 1
    assert http_client.get(result.url).content == path.read_bytes()


def test_a_file_over_the_api_limit_is_refused_before_sending(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(github_module, "MAX_FILE", 1000)
    host = github(fake, http_client)
    with pytest.raises(
        HostError, match="above the 1000 bytes GitHub's contents API takes"
    ) as caught:
        host.upload(request_for(image(tmp_path, padding=2000)))
    assert not caught.value.retryable and fake.requests == 0


def test_delete_reads_the_sha_afresh_and_touches_only_files_of_its_folder_and_template(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = github(fake, http_client)
    result = host.upload(request_for(image(tmp_path)))
    fake.commit_by_hand("img/README.md", b"# images")
    fake.commit_by_hand("src/main.py", b"print()")
    before = fake.requests

    for handle in (
        {"path": "src/main.py"},
        {"path": "img/README.md"},
        {"path": "img/../src/main.py"},
        {"path": "img/" + "a" * 32 + ".png/../../src/main.py"},
        {"path": result.handle["path"].removeprefix("img/")},
    ):
        with pytest.raises(ValueError):
            host.delete(handle)
    assert fake.requests == before

    host.delete(result.handle)
    assert sorted(fake.files()) == ["img/README.md", "src/main.py"]


def test_listing_shows_only_files_its_template_made_and_an_absent_folder_is_empty(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = github(fake, http_client, name="{name}-{md5}{ext}", path="static/img")
    assert list(host.list_images()) == []  # nothing committed yet, not even the folder

    made = [host.upload(request_for(image(tmp_path, n))) for n in range(3)]
    fake.commit_by_hand("static/img/README.md", b"# not an image of ours")
    fake.commit_by_hand("static/other.png", png_bytes())

    listed = list(host.list_images())

    assert sorted(i.url for i in listed) == sorted(r.url for r in made)
    assert all(i.uploaded_at == "" and i.size for i in listed)
    assert made[0].handle["path"].startswith("static/img/photo-0-")


def test_public_url_presets_and_a_branch_with_a_slash(http_client: httpx.Client) -> None:
    options = {"repo": REPO, "token": TOKEN, "branch": "gh/pages", "path": "图片"}
    raw = GitHubHost(HostProfile("b", "github", options, CONFIG), http_client)
    cdn = GitHubHost(
        HostProfile("b", "github", options | {"public_url": "jsDelivr"}, CONFIG), http_client
    )
    path = "图片/" + "0" * 32 + ".png"
    assert raw.settings.url_for(path) == (
        f"https://raw.githubusercontent.com/{REPO}/gh/pages/%E5%9B%BE%E7%89%87/{'0' * 32}.png"
    )
    assert cdn.settings.url_for(path).startswith(f"https://cdn.jsdelivr.net/gh/{REPO}@gh/pages/")
    assert raw.identity == cdn.identity  # the same files: only the link differs
    assert raw.identity.startswith(f"github https://api.github.com/repos/{REPO}/contents/")


def test_check_access_reads_push_permission_and_the_branch(
    fake: FakeGitHub, http_client: httpx.Client
) -> None:
    access = github(fake, http_client).check_access()
    assert access.verified and "writable" in access.detail
    with pytest.raises(WrongEndpoint, match="the branch 'drafts' does not exist"):
        github(fake, http_client, branch="drafts").check_access()
    fake.can_push = False
    with pytest.raises(AuthError, match="may not write to it"):
        github(fake, http_client).check_access()
    assert fake.puts == 0


def test_the_fake_lists_at_most_a_thousand_entries_of_a_folder(
    fake: FakeGitHub, http_client: httpx.Client
) -> None:
    for n in range(1005):
        fake.repo.branches["main"][f"many/{n:04}.png"] = b"x"
    reply = http_client.get(
        f"{fake.url}/repos/{REPO}/contents/many", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert len(reply.json()) == 1000


def test_a_file_that_changes_while_it_is_sent_fails_as_the_image_and_commits_nothing(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgsync.hosts.github_sent import measure as measured

    def one_byte_short(open_bytes: Any, hint: int) -> Sent:
        sent = measured(open_bytes, hint)
        return Sent(sent.md5, sent.size - 1, sent.blob_sha)  # as if it grew after measuring

    monkeypatch.setattr(github_module, "measure", one_byte_short)
    with pytest.raises(ImageError, match="the file changed while it was being sent"):
        github(fake, http_client).upload(request_for(image(tmp_path)))
    assert fake.puts == 0 and fake.files() == {}


def test_cached_raw_or_cdn_urls_are_the_hosts_own_and_another_site_is_told(
    http_client: httpx.Client,
) -> None:
    from imgsync.upload import _ForeignSites, served_from

    for public_url, own in [
        ("raw", "https://raw.githubusercontent.com/writer/blog-images/main/img/a.png"),
        ("jsdelivr", "https://cdn.jsdelivr.net/gh/writer/blog-images@main/img/a.png"),
    ]:
        options = {"repo": REPO, "token": TOKEN, "path": "img", "public_url": public_url}
        profile = HostProfile("b", "github", options, CONFIG, serves=("https://img.example/",))
        host = GitHubHost(profile, http_client)
        foreign = _ForeignSites(host.identity, served_from(host, profile))
        for url in (own, "https://img.example/b.png", "https://evil.test/pixel.png"):
            foreign.note(url)
        assert foreign.counts == {"evil.test": 1}


def test_the_example_of_docs_github_md_is_a_valid_profile(http_client: httpx.Client) -> None:
    import tomllib

    from imgsync.hosts.profile import Trusted

    page = (Path(__file__).resolve().parents[1] / "docs" / "github.md").read_text()
    block = page.split("```toml\n", 1)[1].split("```", 1)[0]
    table = tomllib.loads(block)["hosts"]["github"]
    options = {key: value for key, value in table.items() if key != "type"}
    trusted = Trusted(variables={"GITHUB_TOKEN": TOKEN})
    host = GitHubHost(
        HostProfile("github", "github", options, CONFIG, trusted=trusted), http_client
    )

    assert host.settings.url_for("images/a.png") == (
        "https://cdn.jsdelivr.net/gh/me/blog-images@main/images/a.png"
    )


def test_a_delete_meeting_a_moved_branch_reads_the_sha_again(
    fake: FakeGitHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = github(fake, http_client)
    result = host.upload(request_for(image(tmp_path)))
    fake.conflicts_next = 1

    host.delete(result.handle)

    assert fake.statuses[409] == 1 and fake.deletes == 1 and fake.files() == {}


def test_a_pinned_host_url_keeps_the_token_from_going_elsewhere(http_client: httpx.Client) -> None:
    from imgsync.errors import ConfigError
    from imgsync.hosts.profile import Trusted

    pinned = Trusted(pinned_url="https://github.example.com/api/v3")
    options = {"repo": REPO, "token": TOKEN}
    host = GitHubHost(HostProfile("b", "github", options, CONFIG, trusted=pinned), http_client)
    assert host.url == "https://github.example.com/api/v3"  # no 'url': the pin is the API

    elsewhere = options | {"url": "https://collector.example/api"}  # a pull request's edit
    with pytest.raises(ConfigError, match="'url' names another host than IMGSYNC_HOST_URL"):
        GitHubHost(HostProfile("b", "github", elsewhere, CONFIG, trusted=pinned), http_client)


def test_the_identity_is_known_without_the_token(http_client: httpx.Client) -> None:
    from imgsync.hosts import identity_without_secrets

    options = {"repo": REPO, "branch": "gh/pages", "path": "img", "token": "${GITHUB_TOKEN}"}
    with_token = GitHubHost(
        HostProfile("b", "github", options | {"token": TOKEN}, CONFIG), http_client
    )
    profile = HostProfile("b", "github", options, CONFIG)  # GITHUB_TOKEN is not set
    assert identity_without_secrets(profile) == with_token.identity
    assert identity_without_secrets(HostProfile("b", "github", {}, CONFIG)) is None  # no repo
