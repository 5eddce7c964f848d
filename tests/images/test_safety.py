import pytest

from reconciler.images.safety import (SourceKind, UnsafePathError, check_image_name, display_url,
                                      parse_source)


@pytest.mark.parametrize("name", ["asa941-smp-k8.bin", "cisco-asa-fp2k.9.16.3.SPA", "csd_3.6.6249-k9.pkg",
                                  "agent 7.3.msi"])
def test_plain_file_names_are_accepted(name):
    assert check_image_name(name) == name


@pytest.mark.parametrize("name", ["", "  ", "..", ".", "../asa.bin", "a/b.bin", "/etc/passwd", "C:evil.bin",
                                  "a\\b.bin", "disk0:asa.bin", ".index.json", "asa\x00.bin", "asa.bin ",
                                  "x" * 256])
def test_unsafe_names_are_refused_with_the_contract_code(name):
    with pytest.raises(UnsafePathError) as e:
        check_image_name(name)
    assert e.value.code == "UNSAFE_PATH"
    assert e.value.hint


def test_sources_are_classified():
    assert parse_source("https://images.example.com/asa/asa941.bin").kind is SourceKind.HTTP
    assert parse_source("http://10.0.0.5:8080/x.bin").kind is SourceKind.HTTP
    s = parse_source("synthetic:asa941-smp-k8.bin")
    assert (s.kind, s.value) == (SourceKind.SYNTHETIC, "asa941-smp-k8.bin")
    p = parse_source("./asa/9.4/asa941-smp-k8.bin")
    assert (p.kind, p.value) == (SourceKind.PATH, "asa/9.4/asa941-smp-k8.bin")
    assert parse_source("sub\\dir\\x.bin").value == "sub/dir/x.bin"


@pytest.mark.parametrize("source", ["../outside.bin", "asa/../../etc/passwd", "/srv/images/asa.bin", "~/asa.bin",
                                    "C:\\images\\asa.bin", "ftp://host/x.bin", "file:///etc/passwd",
                                    "synthetic:../x", "https:///nohost.bin", "https://h:99999/x",
                                    "https://a b/x.bin", ""])
def test_unsafe_sources_are_refused(source):
    with pytest.raises(UnsafePathError) as e:
        parse_source(source, image="asa.bin")
    assert e.value.code == "UNSAFE_PATH"


def test_credentials_in_a_url_are_refused_without_echoing_them():
    with pytest.raises(UnsafePathError) as e:
        parse_source("https://admin:s3cr3t-pw@images.example.com/asa.bin", image="asa.bin")
    assert "s3cr3t-pw" not in str(e.value)
    assert "admin" not in str(e.value)
    assert "--source-credentials" in str(e.value)


def test_display_url_drops_user_info_and_query():
    assert display_url("https://u:p@h.example:8443/a/b.bin?X-Amz-Signature=abc") == "https://h.example:8443/a/b.bin?…"
