"""Tests for compressbench.data on tiny fixture files (no real dataset, no internet)."""
from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import io
import json
import struct
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from compressbench import data, decode
from compressbench.catalog import datasets
from compressbench.data import DataError

ARCHIVE = "cifar-10-binary.tar.gz"


def mnist(files: dict[str, str]) -> datasets.Dataset:
    """MNIST's catalog entry checked against the fixture's MD5s (only the files named)."""
    entry = datasets.get("mnist")
    return dataclasses.replace(entry, source=entry.source.with_checksums(files))


def cifar(members: dict[str, str]) -> datasets.Dataset:
    """CIFAR-10's catalog entry checked against the fixture's member MD5s."""
    entry = datasets.get("cifar10")
    return dataclasses.replace(entry, source=entry.source.with_checksums(members))


# --------------------------------------------------------------------------- #
# Fixture builders
# --------------------------------------------------------------------------- #

def idx_bytes(a: np.ndarray) -> bytes:
    a = np.asarray(a, dtype=np.uint8)
    return bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def gz(b: bytes) -> bytes:
    return gzip.compress(b, mtime=0)


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def cifar_bytes(labels, rng) -> tuple[bytes, np.ndarray]:
    """Records of label + CHW planes; also returns the expected HWC images."""
    imgs = rng.integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
    recs = b"".join(bytes([lab]) + img.transpose(2, 0, 1).tobytes() for lab, img in zip(labels, imgs))
    return recs, imgs


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


@pytest.fixture(scope="module")
def mnist_fixture():
    """Four tiny MNIST-named gzip files: 40 train and 10 test 28x28 images."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(40, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(10, dtype=np.uint8) * 3) % 10,
    }
    blobs = {name: gz(idx_bytes(a)) for name, a in arrays.items()}
    return {"arrays": arrays, "blobs": blobs, "md5s": {n: md5(b) for n, b in blobs.items()}}


@pytest.fixture(scope="module")
def cifar_fixture():
    """A tiny archive with two members, plus one whose test_batch is corrupted."""
    rng = np.random.default_rng(2)
    b1, _ = cifar_bytes([1, 2, 3], rng)
    bt, _ = cifar_bytes([4, 5], rng)
    good = tar_gz({"data_batch_1.bin": b1, "test_batch.bin": bt})
    bad = tar_gz({"data_batch_1.bin": b1, "test_batch.bin": bt[:-1] + b"\x00"})
    return {"good": good, "bad": bad, "members": {"data_batch_1.bin": md5(b1), "test_batch.bin": md5(bt)}}


class _Server:
    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        self.errors: dict[str, list[int]] = {}  # path -> statuses to answer before serving it
        log, errors = self.requests, self.errors

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                log.append(self.path)
                if errors.get(self.path):
                    self.send_error(errors[self.path].pop(0))
                    return
                super().do_GET()

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def base(self, folder: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{folder}/"

    def put(self, folder: str, name: str, payload: bytes) -> None:
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / folder / name).write_bytes(payload)


@pytest.fixture
def server(tmp_path):
    srv = _Server(tmp_path / "www")
    (tmp_path / "www").mkdir()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def leftovers(dest: Path, expected: set[str]) -> set[str]:
    return {p.name for p in dest.iterdir()} - expected


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #

def test_read_idx_decodes_images_and_labels():
    imgs = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    got_imgs = decode.read_idx(idx_bytes(imgs))
    got_labels = decode.read_idx(idx_bytes(labels))
    assert got_imgs.dtype == np.uint8 and got_imgs.shape == (2, 3, 4)
    np.testing.assert_array_equal(got_imgs, imgs)
    np.testing.assert_array_equal(got_labels, labels)


def test_read_idx_rejects_bad_magic_and_wrong_size():
    good = idx_bytes(np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(DataError, match="magic"):
        decode.read_idx(b"\x01\x02" + good[2:])
    with pytest.raises(DataError, match="size"):
        decode.read_idx(good[:-1])


def test_read_cifar_bin_puts_red_plane_in_channel_zero():
    rng = np.random.default_rng(0)
    raw, expected = cifar_bytes([3, 0, 9], rng)
    imgs, labels = decode.read_cifar_bin(raw)
    assert imgs.shape == (3, 32, 32, 3) and imgs.dtype == np.uint8
    np.testing.assert_array_equal(labels, [3, 0, 9])
    np.testing.assert_array_equal(imgs, expected)
    # The first 1024 pixel bytes of record 0 are its red plane, row-major.
    red = np.frombuffer(raw[1:1025], dtype=np.uint8).reshape(32, 32)
    np.testing.assert_array_equal(imgs[0, ..., 0], red)


def test_read_cifar_bin_rejects_partial_record_and_bad_label():
    raw, _ = cifar_bytes([1], np.random.default_rng(0))
    with pytest.raises(DataError, match="multiple of 3073"):
        decode.read_cifar_bin(raw + b"\x00")
    with pytest.raises(DataError, match="label"):
        decode.read_cifar_bin(b"\x0a" + raw[1:])


# --------------------------------------------------------------------------- #
# Download over HTTP
# --------------------------------------------------------------------------- #

def test_download_falls_back_from_corrupted_and_missing_files(server, mnist_fixture, tmp_path):
    names = list(mnist_fixture["blobs"])
    for name, blob in mnist_fixture["blobs"].items():
        server.put("good", name, blob)
    server.put("bad", names[0], b"not the right bytes")  # corrupted on the first base
    server.put("bad", names[1], mnist_fixture["blobs"][names[1]][:-10])  # truncated gzip
    # names[2], names[3] are absent from "bad": 404 there.
    dest = tmp_path / "raw"
    paths = data.download(mnist(mnist_fixture["md5s"]), dest, [server.base("bad"), server.base("good")], None)
    assert [p.name for p in paths] == names
    for p in paths:
        assert p.read_bytes() == mnist_fixture["blobs"][p.name]
    assert leftovers(dest, set(names)) == set()
    assert any(r.startswith("/bad/") for r in server.requests)
    assert all(any(r == f"/good/{n}" for r in server.requests) for n in names)


def test_download_all_sources_bad_names_every_source_and_leaves_nothing(server, mnist_fixture, tmp_path):
    name = next(iter(mnist_fixture["blobs"]))
    server.put("bad", name, b"garbage")
    mirror = tmp_path / "mirror"  # exists but lacks the file
    mirror.mkdir()
    dest = tmp_path / "raw"
    sources = [server.base("bad"), server.base("missing")]
    with pytest.raises(DataError) as err:
        data.download(mnist({name: mnist_fixture["md5s"][name]}), dest, sources, str(mirror))
    msg = str(err.value)
    assert str(mirror / "mnist" / name) in msg
    assert sources[0] + name in msg and "md5" in msg
    assert sources[1] + name in msg and "404" in msg
    assert list(dest.iterdir()) == []  # no partial, temporary or unverified file


def test_download_present_verified_files_are_not_fetched_again(server, mnist_fixture, tmp_path):
    for name, blob in mnist_fixture["blobs"].items():
        server.put("good", name, blob)
    dest = tmp_path / "raw"
    data.download(mnist(mnist_fixture["md5s"]), dest, [server.base("good")], None)
    first = len(server.requests)
    assert first == 4
    data.download(mnist(mnist_fixture["md5s"]), dest, [server.base("good")], None)
    assert len(server.requests) == first


def test_download_cifar_rejects_archive_with_corrupted_member(server, cifar_fixture, tmp_path):
    server.put("bad", ARCHIVE, cifar_fixture["bad"])
    server.put("good", ARCHIVE, cifar_fixture["good"])
    dest = tmp_path / "raw"
    paths = data.download(cifar(cifar_fixture["members"]), dest, [server.base("bad"), server.base("good")], None)
    assert paths == [dest / ARCHIVE]
    assert paths[0].read_bytes() == cifar_fixture["good"]
    assert f"/bad/{ARCHIVE}" in server.requests
    assert leftovers(dest, {ARCHIVE}) == set()

    with pytest.raises(DataError, match="test_batch.bin") as err:
        data.download(cifar(cifar_fixture["members"]), tmp_path / "raw2", [server.base("bad")], None)
    assert server.base("bad") + ARCHIVE in str(err.value)
    assert list((tmp_path / "raw2").iterdir()) == []


def test_download_retries_server_errors_but_not_client_errors(server, mnist_fixture, tmp_path, monkeypatch):
    waits = []
    monkeypatch.setattr("time.sleep", waits.append)  # pooch's back-off, without the wait
    name = next(iter(mnist_fixture["blobs"]))
    server.put("flaky", name, mnist_fixture["blobs"][name])
    server.errors[f"/flaky/{name}"] = [503]  # a transient error, then the file
    [p] = data.download(mnist({name: mnist_fixture["md5s"][name]}), tmp_path / "a", [server.base("flaky")], None)
    assert p.read_bytes() == mnist_fixture["blobs"][name]
    assert server.requests == [f"/flaky/{name}"] * 2 and len(waits) == 1

    server.requests.clear()
    server.errors[f"/down/{name}"] = [503] * 10
    sources = [server.base("missing"), server.base("down")]
    with pytest.raises(DataError) as err:
        data.download(mnist({name: mnist_fixture["md5s"][name]}), tmp_path / "b", sources, None)
    # A 404 is asked for once; a 503 once plus each retry, then the error names both.
    assert server.requests == [f"/missing/{name}"] + [f"/down/{name}"] * (1 + data.HTTP_RETRIES)
    assert "HTTP 404" in str(err.value) and "503" in str(err.value)
    assert list((tmp_path / "b").iterdir()) == []


def test_download_replaces_a_stale_present_file(server, mnist_fixture, cifar_fixture, tmp_path):
    name, blob = next(iter(mnist_fixture["blobs"].items()))
    server.put("good", name, blob)
    server.put("good", ARCHIVE, cifar_fixture["good"])
    dest = tmp_path / "raw"
    dest.mkdir()
    (dest / name).write_bytes(blob[:-1])
    (dest / ARCHIVE).write_bytes(cifar_fixture["bad"])
    data.download(mnist({name: mnist_fixture["md5s"][name]}), dest, [server.base("good")], None)
    data.download(cifar(cifar_fixture["members"]), dest, [server.base("good")], None)
    assert (dest / name).read_bytes() == blob
    assert (dest / ARCHIVE).read_bytes() == cifar_fixture["good"]
    assert leftovers(dest, {name, ARCHIVE}) == set()


def test_download_interrupted_leaves_nothing(server, mnist_fixture, tmp_path, monkeypatch):
    import pooch

    def interrupted(self, url, output_file, pup, check_only=False):
        Path(output_file).write_bytes(b"half a file")
        raise KeyboardInterrupt  # Ctrl-C in the middle of the transfer

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", interrupted)
    name = next(iter(mnist_fixture["blobs"]))
    server.put("good", name, mnist_fixture["blobs"][name])
    dest = tmp_path / "raw"
    with pytest.raises(KeyboardInterrupt):
        data.download(mnist({name: mnist_fixture["md5s"][name]}), dest, [server.base("good")], None)
    assert list(dest.iterdir()) == []


# --------------------------------------------------------------------------- #
# Mirror folder
# --------------------------------------------------------------------------- #

def test_download_tries_mirror_folder_before_urls(server, mnist_fixture, cifar_fixture, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    (mirror / "cifar10").mkdir(parents=True)
    for name, blob in mnist_fixture["blobs"].items():
        (mirror / "mnist" / name).write_bytes(blob)
        server.put("good", name, blob)
    (mirror / "cifar10" / ARCHIVE).write_bytes(cifar_fixture["good"])

    data.download(mnist(mnist_fixture["md5s"]), tmp_path / "a", [server.base("good")], str(mirror))
    data.download(cifar(cifar_fixture["members"]), tmp_path / "b", [server.base("good")],
                  mirror.as_uri())  # file:// URL form
    assert server.requests == []  # the URLs were never needed
    assert (tmp_path / "b" / ARCHIVE).read_bytes() == cifar_fixture["good"]


def test_download_truncated_mirror_file_falls_back_to_url(server, mnist_fixture, cifar_fixture, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    (mirror / "cifar10").mkdir(parents=True)
    name, blob = next(iter(mnist_fixture["blobs"].items()))
    (mirror / "mnist" / name).write_bytes(blob[: len(blob) // 2])
    server.put("good", name, blob)
    (mirror / "cifar10" / ARCHIVE).write_bytes(cifar_fixture["good"][:-100])
    server.put("good", ARCHIVE, cifar_fixture["good"])

    [p] = data.download(mnist({name: mnist_fixture["md5s"][name]}), tmp_path / "a", [server.base("good")], str(mirror))
    assert p.read_bytes() == blob
    [c] = data.download(cifar(cifar_fixture["members"]), tmp_path / "b", [server.base("good")], str(mirror))
    assert c.read_bytes() == cifar_fixture["good"]
    assert server.requests == [f"/good/{name}", f"/good/{ARCHIVE}"]


def test_download_http_mirror_is_tried_before_base_urls(server, mnist_fixture, tmp_path):
    name, blob = next(iter(mnist_fixture["blobs"].items()))
    server.put("mirror/mnist", name, blob)
    server.put("good", name, blob)
    mirror = server.base("mirror").rstrip("/")
    [p] = data.download(mnist({name: mnist_fixture["md5s"][name]}), tmp_path / "a", [server.base("good")], mirror)
    assert p.read_bytes() == blob
    assert server.requests == [f"/mirror/mnist/{name}"]


def test_an_unknown_dataset_name_is_refused_naming_the_allowed_ones():
    with pytest.raises(KeyError, match=r"unknown dataset 'svhn'; allowed: mnist, cifar10"):
        datasets.get("svhn")


# --------------------------------------------------------------------------- #
# load_raw, split, prepare, load_prepared
# --------------------------------------------------------------------------- #

def write_mnist(raw_dir: Path, fixture) -> None:
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name, blob in fixture["blobs"].items():
        (raw_dir / name).write_bytes(blob)


def test_load_raw_mnist_adds_channel_axis_and_int64_labels(mnist_fixture, tmp_path):
    write_mnist(tmp_path, mnist_fixture)
    raw = datasets.get("mnist").decode(tmp_path)
    assert raw["x_train"].shape == (40, 28, 28, 1) and raw["x_train"].dtype == np.uint8
    assert raw["x_test"].shape == (10, 28, 28, 1)
    assert raw["y_train"].dtype == np.int64
    np.testing.assert_array_equal(raw["x_train"][..., 0], mnist_fixture["arrays"]["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(raw["y_test"], mnist_fixture["arrays"]["t10k-labels-idx1-ubyte.gz"])


def test_load_raw_cifar_concatenates_batches_in_order(tmp_path):
    rng = np.random.default_rng(3)
    members, expected = {}, []
    for i in range(1, 6):
        raw, imgs = cifar_bytes([i, i], rng)
        members[f"data_batch_{i}.bin"] = raw
        expected.append(imgs)
    test_raw, test_imgs = cifar_bytes([0], rng)
    members["test_batch.bin"] = test_raw
    # Store batches out of order in the archive: the result must still be 1..5.
    order = ["data_batch_3.bin", "test_batch.bin", "data_batch_1.bin", "data_batch_5.bin",
             "data_batch_2.bin", "data_batch_4.bin"]
    (tmp_path / ARCHIVE).write_bytes(tar_gz({k: members[k] for k in order}))
    out = datasets.get("cifar10").decode(tmp_path)
    np.testing.assert_array_equal(out["y_train"], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    np.testing.assert_array_equal(out["x_train"], np.concatenate(expected))
    np.testing.assert_array_equal(out["x_test"], test_imgs)
    assert out["y_test"].dtype == np.int64


def test_split_is_deterministic_disjoint_and_complete():
    x = np.arange(100)
    y = x % 10
    a = data.split(x, y, 20, seed=5)
    b = data.split(x, y, 20, seed=5)
    c = data.split(x, y, 20, seed=6)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[2], c[2])
    x_tr, y_tr, x_val, y_val = a
    assert len(x_tr) == 80 and len(x_val) == 20
    assert set(x_tr).isdisjoint(x_val)
    np.testing.assert_array_equal(np.sort(np.concatenate([x_tr, x_val])), x)
    np.testing.assert_array_equal(y_tr, x_tr % 10)  # pairs stay aligned
    np.testing.assert_array_equal(y_val, x_val % 10)
    with pytest.raises(ValueError):
        data.split(x, y, 100, seed=0)


def prepared(raw_dir, out_npz, val_size=10, split_seed=0) -> dict:
    """data.prepare plus the record beside the npz, as the prepare job writes it."""
    facts = data.prepare(datasets.get("mnist"), raw_dir, out_npz, val_size, split_seed)
    out_npz.with_suffix(".json").write_text(json.dumps(facts))
    return facts


def test_prepare_writes_npz_and_facts(mnist_fixture, tmp_path):
    raw_dir = tmp_path / "raw"
    write_mnist(raw_dir, mnist_fixture)
    out_npz, out_json = tmp_path / "prep" / "mnist.npz", tmp_path / "prep" / "mnist.json"
    facts = prepared(raw_dir, out_npz)

    assert facts["dataset"] == "mnist"
    assert facts["counts"] == {"train": 30, "val": 10, "test": 10}
    assert facts["image_shape"] == [28, 28, 1]
    assert facts["class_counts"]["test"] == [1] * 10  # labels 0,3,6,9,2,5,8,1,4,7
    tr, val = facts["class_counts"]["train"], facts["class_counts"]["val"]
    assert len(tr) == 10 and [a + b for a, b in zip(tr, val)] == [4] * 10
    assert json.loads(out_json.read_text()) == facts
    assert sorted(p.name for p in out_npz.parent.iterdir()) == ["mnist.json", "mnist.npz"]

    arrays = data.load_prepared(out_npz)
    assert set(arrays) == set(data.ARRAY_KEYS)
    for key, a in arrays.items():
        assert facts["sha256"][key] == hashlib.sha256(a.tobytes()).hexdigest()
    np.testing.assert_array_equal(np.bincount(arrays["y_val"], minlength=10), val)
    # Train and val together are exactly the original training images.
    orig = mnist_fixture["arrays"]["train-images-idx3-ubyte.gz"].reshape(40, -1)
    both = np.concatenate([arrays["x_train"], arrays["x_val"]]).reshape(40, -1)
    assert sorted(map(bytes, both)) == sorted(map(bytes, orig))

    # Same seed, same split (identical content checksums); another seed differs.
    again = data.prepare(datasets.get("mnist"), raw_dir, tmp_path / "p2.npz", 10, 0)
    other = data.prepare(datasets.get("mnist"), raw_dir, tmp_path / "p3.npz", 10, 1)
    assert again["sha256"] == facts["sha256"]
    assert other["sha256"]["y_val"] != facts["sha256"]["y_val"] or other["sha256"]["x_val"] != facts["sha256"]["x_val"]


def test_load_prepared_loads_only_the_splits_asked_for(mnist_fixture, tmp_path):
    write_mnist(tmp_path / "raw", mnist_fixture)
    prepared(tmp_path / "raw", tmp_path / "mnist.npz")
    assert set(data.load_prepared(tmp_path / "mnist.npz", keys=("x_test", "y_test"))) == {"x_test", "y_test"}


def test_load_prepared_refuses_arrays_that_differ_from_their_recorded_sha256(mnist_fixture, tmp_path):
    write_mnist(tmp_path / "raw", mnist_fixture)
    npz = tmp_path / "mnist.npz"
    prepared(tmp_path / "raw", npz)
    arrays = data.load_prepared(npz)
    arrays["x_test"] = arrays["x_test"].copy()
    arrays["x_test"][0, 0, 0, 0] ^= 1  # one pixel changed, the file still a valid npz
    with npz.open("wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(DataError, match=r"mnist\.npz: x_test differ from the sha256 in mnist\.json.*snakemake --cores 1 --force .*mnist\.npz"):
        data.load_prepared(npz)
    assert set(data.load_prepared(npz, keys=("x_train",))) == {"x_train"}  # the intact split still loads
    npz.with_suffix(".json").unlink()
    with pytest.raises(DataError, match=r"mnist\.json: no readable checksums"):
        data.load_prepared(npz)


def test_load_prepared_corrupt_or_missing_file_names_it(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="bad.npz"):
        data.load_prepared(bad)
    with pytest.raises(DataError, match="nope.npz"):
        data.load_prepared(tmp_path / "nope.npz")
