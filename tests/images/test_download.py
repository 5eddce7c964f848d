"""fetch() from a real HTTP server on 127.0.0.1: resume, Range quirks, retries, refusals, proxies."""

import hashlib

import pytest

from reconciler.core.model import ImageStatus
from reconciler.errors import PermanentError, TemporaryError
from reconciler.images.download import RetryPolicy, make_client
from reconciler.images.repository import ImageRepository, Outcome
from reconciler.secrets import redact
from tests.images.server import FAST_RETRY, image_for, payload

SIZE = 1_500_000


@pytest.fixture
def repo(tmp_path):
    return ImageRepository(tmp_path / "repo", retry=FAST_RETRY)


def once(repo):
    """The same repository with a single attempt, to observe one transfer at a time."""
    return ImageRepository(repo.root, retry=RetryPolicy(attempts=1))


def test_fetch_downloads_verifies_and_dedupes(repo, image_server):
    body = payload("asa941", SIZE)
    image = image_for("asa941-smp-k8.bin", body, image_server.add("/asa/asa941-smp-k8.bin", body))
    progress = []
    result = repo.fetch(image, progress=lambda d, t: progress.append(d))
    assert (result.outcome, result.resumed_from) == (Outcome.ADDED, 0)
    assert repo.path_of(image.name).read_bytes() == body
    assert progress[-1] == SIZE and progress == sorted(progress)
    assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}
    assert repo.partials() == {} and not list((repo.root / ".incoming").glob("*.json"))
    # already present with the same checksum: skipped without touching the network
    n = len(image_server.seen)
    assert repo.fetch(image).outcome is Outcome.SKIPPED
    assert len(image_server.seen) == n
    req = image_server.seen[0].headers
    assert req["accept-encoding"] == "identity" and "range" not in req


def test_broken_transfer_is_resumed_with_a_range_request(repo, image_server):
    body = payload("asa923", SIZE)
    url = image_server.add("/asa923.bin", body, break_after=600_000, breaks=1)
    image = image_for("asa923-smp-k8.bin", body, url)
    result = repo.fetch(image)
    assert result.outcome is Outcome.ADDED
    assert result.resumed_from == 600_000
    first, second = image_server.requests_for("/asa923.bin")
    assert "range" not in first.headers
    assert second.headers["range"] == "bytes=600000-"
    assert second.headers["if-range"] == '"v1"'
    assert second.status == 206
    assert repo.path_of(image.name).read_bytes() == body


def test_an_interrupted_fetch_keeps_its_partial_and_the_next_run_resumes(repo, image_server):
    body = payload("asa933", SIZE)
    image = image_for("asa933-smp-k8.bin", body,
                      image_server.add("/asa933.bin", body, break_after=400_000, breaks=1))
    with pytest.raises(TemporaryError) as e:
        once(repo).fetch(image)
    assert "asa933.bin" in str(e.value)
    assert repo.partials() == {image.name: 400_000}
    assert repo.status({image.name: image}) == {image.name: ImageStatus.MISSING}  # a partial is not an image
    assert not (repo.root / image.name).exists()
    result = once(repo).fetch(image)
    assert result.resumed_from == 400_000
    assert repo.path_of(image.name).read_bytes() == body
    assert [r.status for r in image_server.requests_for("/asa933.bin")] == [200, 206]


def test_a_server_that_ignores_range_restarts_cleanly(repo, image_server):
    body = payload("asdm", SIZE)
    image = image_for("asdm-7161.bin", body,
                      image_server.add("/asdm.bin", body, break_after=500_000, breaks=1, ignore_range=True))
    result = repo.fetch(image)
    assert result.resumed_from == 0
    assert [r.status for r in image_server.requests_for("/asdm.bin")] == [200, 200]
    assert image_server.requests_for("/asdm.bin")[1].headers["range"] == "bytes=500000-"
    assert repo.path_of(image.name).read_bytes() == body  # not the first 500000 bytes twice


def test_416_discards_the_partial_and_restarts(repo, image_server):
    body = payload("hostscan", 300_000)
    image = image_for("hostscan_4.10.07073-k9.pkg", body,
                      image_server.add("/hs.pkg", body, break_after=100_000, breaks=1, refuse_range=True))
    result = repo.fetch(image)
    assert result.resumed_from == 0
    assert [r.status for r in image_server.requests_for("/hs.pkg")] == [200, 416, 200]
    assert repo.path_of(image.name).read_bytes() == body


def test_a_changed_source_is_not_spliced_onto_an_old_partial(repo, image_server):
    old = payload("old", SIZE)
    new = payload("new", SIZE)
    image = image_for("asa916-smp-k8.bin", new, image_server.add("/asa916.bin", old, break_after=700_000, breaks=1))
    with pytest.raises(TemporaryError):
        once(repo).fetch(image)
    image_server.add("/asa916.bin", new, etag='"v2"')  # the file was republished
    result = once(repo).fetch(image)
    second = image_server.requests_for("/asa916.bin")[1]
    assert second.headers["if-range"] == '"v1"' and second.status == 200  # If-Range made it restart
    assert result.resumed_from == 0
    assert repo.path_of(image.name).read_bytes() == new


def test_resumed_mismatch_without_validators_gets_one_clean_retry(repo, image_server):
    old = payload("old", SIZE)
    new = payload("new", SIZE)
    image = image_for("asa904-smp-k8.bin", new,
                      image_server.add("/asa904.bin", old, etag=None, break_after=700_000, breaks=1))
    with pytest.raises(TemporaryError):
        once(repo).fetch(image)
    image_server.add("/asa904.bin", new, etag=None)
    result = repo.fetch(image)  # spliced old+new fails the checksum, then one fresh download
    assert result.resumed_from == 0
    assert [r.status for r in image_server.requests_for("/asa904.bin")] == [200, 206, 200]
    assert repo.path_of(image.name).read_bytes() == new


def test_checksum_mismatch_is_refused_and_the_partial_removed(repo, image_server):
    body = payload("good", SIZE)
    wrong = payload("wrong", SIZE)
    image = image_for("asa941-lfbff-k8.SPA", body, image_server.add("/lfbff.SPA", wrong))
    with pytest.raises(PermanentError) as e:
        repo.fetch(image)
    assert e.value.code == "IMAGE_CHECKSUM"
    assert hashlib.sha256(wrong).hexdigest() in str(e.value) and image.sha256 in str(e.value)
    assert repo.partials() == {} and repo.files() == []
    assert len(image_server.requests_for("/lfbff.SPA")) == 1  # permanent: not retried


@pytest.mark.parametrize("content_length", [True, False])
def test_a_source_of_the_wrong_size_is_refused(repo, image_server, content_length):
    body = payload("x", 200_000)
    image = image_for("asav941.qcow2", body,
                      image_server.add("/big.qcow2", body + b"trailing", content_length=content_length))
    with pytest.raises(PermanentError) as e:
        repo.fetch(image)
    assert e.value.code == "IMAGE_CHECKSUM" and "catalog" in str(e.value)
    assert repo.partials() == {} and repo.files() == []


def test_transient_http_errors_are_retried_with_backoff(repo, image_server):
    body = payload("agent", 100_000)
    image = image_for("agent-7.3.2.1006-x64.msi", body,
                      image_server.add("/agent.msi", body, statuses=[503, 502], retry_after="0"))
    sleeps = []
    repo.retry = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, sleep=sleeps.append)
    assert repo.fetch(image).outcome is Outcome.ADDED
    assert [r.status for r in image_server.requests_for("/agent.msi")] == [503, 502, 200]
    assert len(sleeps) == 2 and all(0 < s <= 0.05 for s in sleeps)


def test_retries_are_bounded(repo, image_server):
    body = payload("agent", 1000)
    image = image_for("agent.msi", body, image_server.add("/agent.msi", body, statuses=[503] * 10))
    with pytest.raises(TemporaryError, match="HTTP 503"):
        repo.fetch(image)
    assert len(image_server.requests_for("/agent.msi")) == FAST_RETRY.attempts


@pytest.mark.parametrize(("status", "hint"), [(404, "fix `source:`"), (403, "download rights"),
                                               (401, "--source-credentials"), (410, "no longer published")])
def test_permanent_http_errors_are_not_retried(repo, image_server, status, hint):
    body = payload("y", 1000)
    image = image_for("asa.bin", body, image_server.add("/asa.bin", body, statuses=[status] * 5))
    with pytest.raises(PermanentError) as e:
        repo.fetch(image)
    assert f"HTTP {status}" in str(e.value) and hint in str(e.value)
    assert len(image_server.requests_for("/asa.bin")) == 1


def test_an_unreachable_server_is_temporary_and_reported_cleanly(repo):
    image = image_for("asa.bin", b"abc", "http://127.0.0.1:9/asa.bin")
    with pytest.raises(TemporaryError) as e:
        repo.fetch(image)
    assert "http://127.0.0.1:9/asa.bin" in str(e.value) and "ConnectError" in str(e.value)


def test_an_unknown_host_is_permanent(repo):
    image = image_for("asa.bin", b"abc", "http://images.example.invalid/asa.bin")
    with pytest.raises(PermanentError, match="host name not found"):
        repo.fetch(image)


def test_query_strings_never_reach_messages(repo, image_server):
    image = image_for("asa.bin", b"abc", image_server.base + "/missing.bin?X-Amz-Signature=topsecret")
    with pytest.raises(PermanentError) as e:
        repo.fetch(image)
    assert "topsecret" not in str(e.value)


def test_https_proxy_environment_is_honoured(repo, image_server, monkeypatch):
    body = payload("vpn", 250_000)
    image_server.add("/vpn/anyconnect.pkg", body)
    # The host does not resolve: the only way to get the file is through the proxy.
    image = image_for("anyconnect-win-4.10.07073-webdeploy-k9.pkg", body,
                      "http://images.example.invalid/vpn/anyconnect.pkg")
    monkeypatch.setenv("HTTP_PROXY", f"http://proxyuser:proxy-pass-123@127.0.0.1:{image_server.port}")
    with make_client() as client:
        assert repo.fetch(image, client).outcome is Outcome.ADDED
    [req] = image_server.requests_for("/vpn/anyconnect.pkg")
    assert req.absolute  # absolute-form request line: it went through the proxy
    assert req.headers["proxy-authorization"].startswith("Basic ")
    assert redact("proxy password proxy-pass-123") == "proxy password ***"


def test_explicit_proxy_and_no_proxy(repo, image_server, monkeypatch):
    body = payload("plug", 2000)
    image_server.add("/plugin.jar", body)
    image = image_for("rdp-plugin-2.1.jar", body, "http://images.example.invalid/plugin.jar")
    with make_client(proxy=image_server.base) as client:
        assert repo.fetch(image, client).outcome is Outcome.ADDED
    assert image_server.requests_for("/plugin.jar")[0].absolute
    # The explicit proxy wins over the environment's, with proxy credentials from a reference.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with make_client(proxy=image_server.base, proxy_auth=("proxyuser", "proxy-secret-77")) as client:
        repo.remove(image.name)
        assert repo.fetch(image, client).outcome is Outcome.ADDED
    via = image_server.requests_for("/plugin.jar")[1]
    assert via.absolute and via.headers["proxy-authorization"].startswith("Basic ")
    assert redact("proxy-secret-77") == "***"
    monkeypatch.delenv("HTTP_PROXY")
    # NO_PROXY exempts the image server even from an explicit (here: dead) proxy.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = image_for("csd.pkg", body, image_server.base + "/plugin.jar")
    with make_client(proxy="http://127.0.0.1:9") as client:
        assert repo.fetch(direct, client).outcome is Outcome.ADDED
    assert not image_server.requests_for("/plugin.jar")[2].absolute


def test_proxy_credentials_need_a_proxy():
    with pytest.raises(PermanentError, match="no proxy is set"):
        make_client(proxy_auth=("u", "secret-pw"))


def test_source_credentials_are_sent_and_registered_for_redaction(repo, image_server):
    body = payload("auth", 1000)
    image = image_for("asa.bin", body, image_server.add("/auth.bin", body))
    with make_client(auth=("svc-images", "artifactory-pw-9")) as client:
        repo.fetch(image, client)
    assert image_server.requests_for("/auth.bin")[0].headers["authorization"].startswith("Basic ")
    assert "***" in redact("artifactory-pw-9")


def test_fetch_skips_download_when_a_complete_partial_exists(repo, image_server):
    body = payload("done", 50_000)
    url = image_server.add("/done.bin", body)
    image = image_for("done.bin", body, url)
    incoming = repo.root / ".incoming"
    incoming.mkdir(parents=True)
    (incoming / "done.bin.partial").write_bytes(body)  # crashed between the last byte and the rename
    (incoming / "done.bin.partial.json").write_text(
        '{"url": "%s", "sha256": "%s", "size": %d}' % (url, image.sha256, len(body)))
    assert repo.fetch(image).resumed_from == len(body)
    assert image_server.requests_for("/done.bin") == []


def test_https_with_an_untrusted_certificate_is_refused_with_advice(repo, tls_image_server):
    body = payload("tls", 10_000)
    image = image_for("asa.bin", body, tls_image_server.add("/asa.bin", body))
    with pytest.raises(PermanentError) as e:
        repo.fetch(image)
    assert "certificate" in str(e.value) and "--ca-bundle" in str(e.value)


def test_https_with_a_ca_bundle(repo, tls_image_server, tmp_path):
    body = payload("tls", 300_000)
    image = image_for("asa.bin", body, tls_image_server.add("/asa.bin", body, break_after=100_000, breaks=1))
    with make_client(ca_bundle=tmp_path / "cert.pem") as client:
        result = repo.fetch(image, client)
    assert result.resumed_from == 100_000
    assert repo.path_of("asa.bin").read_bytes() == body


def test_a_bad_ca_bundle_is_a_clean_error(tmp_path):
    with pytest.raises(PermanentError, match="cannot load CA bundle"):
        make_client(ca_bundle=tmp_path / "missing.pem")


def test_an_interrupt_mid_transfer_leaves_no_file_that_looks_complete(repo, image_server):
    body = payload("ctrl-c", SIZE)
    image = image_for("asa941-smp-k8.bin", body, image_server.add("/c.bin", body))

    def interrupt(done, total):
        if done > 500_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        repo.fetch(image, progress=interrupt)
    assert repo.files() == []
    kept = repo.partials()[image.name]
    assert 500_000 < kept < SIZE
    assert once(repo).fetch(image).resumed_from == kept
    assert repo.path_of(image.name).read_bytes() == body


def test_retry_after_is_honoured_up_to_the_cap(repo, image_server):
    body = payload("ra", 1000)
    image = image_for("ra.bin", body, image_server.add("/ra.bin", body, statuses=[429, 503], retry_after="2"))
    sleeps = []
    repo.retry = RetryPolicy(attempts=3, initial=0.01, maximum=5, sleep=sleeps.append)
    repo.fetch(image)
    assert sleeps == [2.0, 2.0]
    image_server.add("/ra.bin", body, statuses=[503], retry_after="3600")
    repo.remove("ra.bin")
    sleeps.clear()
    repo.fetch(image)
    assert sleeps == [5]
