#!/usr/bin/python3
"""boto3 scenarios against depot: checksums, presigned PUT, multipart with UploadPartCopy,
and bad input (signatures, aws-chunked framing, XML, limits). Prints PASS/FAIL lines."""
import base64
import datetime
import hashlib
import http.client
import io
import os
import random
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
import zlib
from unittest import mock

os.environ.setdefault("BOTO_DISABLE_CRT", "true")
import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

WORK, BUCKET = sys.argv[1], sys.argv[2]
EP = os.environ["DEPOT_ENDPOINT"]
AK, SK = os.environ["DEPOT_ACCESS_KEY"], os.environ["DEPOT_SECRET_KEY"]
failed = 0


def client(ak=AK, sk=SK, region="us-east-1", **cfg):
    return boto3.client("s3", endpoint_url=EP, aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name=region,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **cfg))


s3 = client()
s3v4 = client(signature_version="s3v4")  # presigned URLs: botocore 1.29 presigns with SigV2 otherwise


ONLY = os.environ.get("BOTO3_ONLY")  # a scenario name's part: run only those (while developing)


def scenario(name):
    def wrap(fn):
        global failed
        if ONLY and ONLY not in name:
            return fn
        try:
            fn()
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            why = (str(e) or type(e).__name__).replace("\n", " ")[:300]
            print(f"FAIL {name}: {why}", flush=True)
            with open(os.path.join(WORK, f"{name}.log"), "w") as f:
                traceback.print_exc(file=f)
        return fn
    return wrap


def expect_error(code, fn, status=None):
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"].get("Code")
        if got != code and str(e.response["ResponseMetadata"]["HTTPStatusCode"]) != code:
            raise AssertionError(f"expected {code}, got {got}") from e
        return e
    raise AssertionError(f"expected {code}, the request succeeded")


def raw(method, path, body=b"", headers=None, payload_hash=None, sign=True, secret=SK, when=None, region="us-east-1"):
    """Sends a hand-built request signed with SigV4 (optionally at another time or for another region)."""
    url = EP + path
    headers = dict(headers or {})
    if sign:
        req = AWSRequest(method=method, url=url, data=body, headers=headers)
        req.headers["x-amz-content-sha256"] = payload_hash or hashlib.sha256(body).hexdigest()
        auth = SigV4Auth(Credentials(AK, secret), "s3", region)
        if when is not None:
            class Shifted(datetime.datetime):
                @classmethod
                def utcnow(cls):
                    return when
            with mock.patch("botocore.auth.datetime.datetime", Shifted):
                auth.add_auth(req)
        else:
            auth.add_auth(req)
        headers = dict(req.headers.items())
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    target = u.path + ("?" + u.query if u.query else "")
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    if "Host" not in headers and "host" not in headers:
        conn.putheader("Host", u.netloc)
    for k, v in headers.items():
        conn.putheader(k, v)
    if "Content-Length" not in headers and "content-length" not in {k.lower() for k in headers}:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    try:
        conn.send(body)
    except (BrokenPipeError, ConnectionResetError):
        pass
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def refused_url(url, why):
    """GETs a presigned URL that must be refused; returns (status, body)."""
    try:
        urllib.request.urlopen(url)
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    raise AssertionError(f"{why} was accepted")


def must(status, data, want_status, want_code=None):
    if status != want_status or (want_code and f"<Code>{want_code}</Code>".encode() not in data):
        raise AssertionError(f"expected {want_status} {want_code or ''}, got {status} {data[:200]!r}")


s3.create_bucket(Bucket=BUCKET)


@scenario("boto3-put-get-checksums")
def _():
    data = os.urandom(300000)
    # CRC32C needs the CRT in this botocore; the aws-chunked scenarios cover the trailer path.
    for alg in ("CRC32", "SHA1", "SHA256"):
        key = f"ck-{alg}"
        put = s3.put_object(Bucket=BUCKET, Key=key, Body=data, ChecksumAlgorithm=alg)
        got = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        body = got["Body"].read()
        assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest(), "content differs"
        assert got.get(f"Checksum{alg}") == put.get(f"Checksum{alg}"), f"{alg}: {got.get(f'Checksum{alg}')} vs {put.get(f'Checksum{alg}')}"
    want = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert s3.head_object(Bucket=BUCKET, Key="ck-CRC32", ChecksumMode="ENABLED")["ChecksumCRC32"] == want


@scenario("boto3-metadata-roundtrip")
def _():
    s3.put_object(Bucket=BUCKET, Key="meta.txt", Body=b"x", ContentType="text/plain; charset=utf-8",
                  ContentDisposition='attachment; filename="a.txt"', CacheControl="max-age=60",
                  ContentLanguage="fr", Metadata={"colour": "Blue", "n": "1"})
    h = s3.head_object(Bucket=BUCKET, Key="meta.txt")
    assert h["ContentType"] == "text/plain; charset=utf-8", h["ContentType"]
    assert h["ContentDisposition"] == 'attachment; filename="a.txt"'
    assert h["CacheControl"] == "max-age=60" and h["ContentLanguage"] == "fr"
    assert h["Metadata"] == {"colour": "Blue", "n": "1"}, h["Metadata"]
    # A metadata entry with an empty name (the bare header x-amz-meta-) is dropped, as S3 does.
    st, data = raw("PUT", f"/{BUCKET}/meta-empty-name", b"x", {"x-amz-meta-": "lost", "x-amz-meta-kept": "yes"})
    must(st, data, 200)
    h = s3.head_object(Bucket=BUCKET, Key="meta-empty-name")
    assert h["Metadata"] == {"kept": "yes"}, h["Metadata"]


@scenario("boto3-presigned-put")
def _():
    data = os.urandom(5000)
    url = s3v4.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned-put"}, ExpiresIn=300)
    req = urllib.request.Request(url, data=data, method="PUT")
    urllib.request.urlopen(req).read()
    assert s3.get_object(Bucket=BUCKET, Key="presigned-put")["Body"].read() == data


@scenario("boto3-multipart-with-upload-part-copy")
def _():
    src = os.urandom(6 * 1024 * 1024)
    s3.put_object(Bucket=BUCKET, Key="mp-src", Body=src)
    part1 = os.urandom(5 * 1024 * 1024)
    mpu = s3.create_multipart_upload(Bucket=BUCKET, Key="mp-dst")
    uid = mpu["UploadId"]
    p1 = s3.upload_part(Bucket=BUCKET, Key="mp-dst", UploadId=uid, PartNumber=1, Body=part1)
    p2 = s3.upload_part_copy(Bucket=BUCKET, Key="mp-dst", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": BUCKET, "Key": "mp-src"}, CopySourceRange="bytes=1000-2000999")
    parts = s3.list_parts(Bucket=BUCKET, Key="mp-dst", UploadId=uid)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    assert uid in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-dst", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    got = s3.get_object(Bucket=BUCKET, Key="mp-dst")["Body"].read()
    assert got == part1 + src[1000:2001000], "content differs"
    md5s = hashlib.md5(part1).digest() + hashlib.md5(src[1000:2001000]).digest()
    assert s3.head_object(Bucket=BUCKET, Key="mp-dst")["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    part2 = s3.get_object(Bucket=BUCKET, Key="mp-dst", PartNumber=2)
    assert part2["Body"].read() == src[1000:2001000] and part2["PartsCount"] == 2


def disk_bytes():
    """Bytes of files under the server's data directory (blob store included)."""
    total = 0
    for root, _, files in os.walk(os.environ["DEPOT_DATA_DIR"]):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


@scenario("boto3-overwrite-while-reading")
def _():
    # The server writes new uploads over the files of blobs it just freed (same size). A GET
    # must get the bytes of the ETag it answers with: never a file written over under it
    # (slow readers of large objects hold theirs open), and no NoSuchKey for a key that always
    # exists (a lookup just before an overwrite commits finds its blob gone and looks up again).
    def run(size, keys, workers, seconds, slow):
        names = [f"overwrite-{size}-{i}" for i in range(keys)]
        for k in names:
            s3.put_object(Bucket=BUCKET, Key=k, Body=os.urandom(size))
        stop = time.time() + seconds
        st = {"puts": 0, "gets": 0, "bad": 0, "errors": []}
        lock = threading.Lock()

        def writer(seed):
            c, rnd = client(), random.Random(seed)
            while time.time() < stop:
                try:
                    c.put_object(Bucket=BUCKET, Key=rnd.choice(names), Body=os.urandom(size))
                    with lock:
                        st["puts"] += 1
                except Exception as e:  # noqa: BLE001
                    with lock:
                        st["errors"].append(f"put: {e}")

        def reader(seed):
            c, rnd = client(), random.Random(seed)
            while time.time() < stop:
                try:
                    r = c.get_object(Bucket=BUCKET, Key=rnd.choice(names))
                    h = hashlib.md5()
                    while chunk := r["Body"].read(65536):
                        h.update(chunk)
                        if slow:
                            time.sleep(0.002)
                    with lock:
                        st["gets"] += 1
                        st["bad"] += h.hexdigest() != r["ETag"].strip('"')
                except Exception as e:  # noqa: BLE001
                    with lock:
                        st["errors"].append(f"get: {e}")

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(workers)]
        threads += [threading.Thread(target=reader, args=(100 + i,)) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not st["errors"], f"{len(st['errors'])} errors, first: {st['errors'][0]}"
        assert st["bad"] == 0, f"{st['bad']} of {st['gets']} GETs got bytes that are not their ETag's"
        assert st["gets"] >= 4 and st["puts"] >= 4, st
        for k in names:
            s3.delete_object(Bucket=BUCKET, Key=k)

    run(300 * 1024, 4, 3, 3, slow=False)
    run(16 << 20, 2, 2, 5, slow=True)


@scenario("boto3-multipart-get-outlives-delete-and-overwrite")
def _():
    # A GET of a multipart object that began before a DELETE (or an overwrite) sends the whole
    # old object, as S3 does: the server holds the part files it will read. Six 5 MiB parts are
    # more than the socket buffers hold, so the later parts are still unread when the object goes;
    # the pause outlasts the test server's orphan grace (5 s) and sweep interval (2 s), and new
    # uploads of a part's size try to write over freed files.
    mib = 1024 * 1024
    reads = []
    for how in ("delete", "overwrite"):
        key = f"mp-outlive-{how}"
        parts = [os.urandom(5 * mib) for _ in range(6)]
        uid = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        done = [{"PartNumber": i + 1, "ETag": s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                                                              PartNumber=i + 1, Body=p)["ETag"]}
                for i, p in enumerate(parts)]
        s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload={"Parts": done})
        r = client().get_object(Bucket=BUCKET, Key=key)
        reads.append((how, r, hashlib.sha256(r["Body"].read(65536)), hashlib.sha256(b"".join(parts)).hexdigest()))
    s3.delete_object(Bucket=BUCKET, Key="mp-outlive-delete")
    s3.put_object(Bucket=BUCKET, Key="mp-outlive-overwrite", Body=b"new")
    time.sleep(float(os.environ.get("DEPOT_SWEEP_WAIT", "9")))
    for i in range(6):
        s3.put_object(Bucket=BUCKET, Key=f"mp-outlive-filler-{i}", Body=os.urandom(5 * mib))
    for how, r, h, want in reads:
        while chunk := r["Body"].read(1 << 20):
            h.update(chunk)
        assert h.hexdigest() == want, f"{how}: the body is not the old object's"
    for i in range(6):
        s3.delete_object(Bucket=BUCKET, Key=f"mp-outlive-filler-{i}")
    s3.delete_object(Bucket=BUCKET, Key="mp-outlive-overwrite")


@scenario("boto3-multipart-get-of-70-parts-outlives-delete")
def _():
    # Past its first 64 parts, a multipart GET holds its part files by pinning them in the server
    # (too many to keep open): they outlive a DELETE, the sweeper and uploads that would write over
    # freed files. Parts 1-64 share one 5 MiB blob (UploadPartCopy), parts 65-70 have their own.
    mib = 1024 * 1024
    before = disk_bytes()
    src = os.urandom(5 * mib)
    s3.put_object(Bucket=BUCKET, Key="mp70-src", Body=src)
    own = [os.urandom(5 * mib) for _ in range(6)]
    key = "mp70"
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    done = []
    for n in range(1, 65):
        r = s3.upload_part_copy(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=n,
                                CopySource={"Bucket": BUCKET, "Key": "mp70-src"})
        done.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    for i, p in enumerate(own):
        r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=65 + i, Body=p)
        done.append({"PartNumber": 65 + i, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload={"Parts": done})
    want = hashlib.sha256(src * 64 + b"".join(own)).hexdigest()
    r = client().get_object(Bucket=BUCKET, Key=key)
    h = hashlib.sha256(r["Body"].read(65536))
    s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_object(Bucket=BUCKET, Key="mp70-src")
    time.sleep(float(os.environ.get("DEPOT_SWEEP_WAIT", "9")))
    for i in range(6):
        s3.put_object(Bucket=BUCKET, Key=f"mp70-filler-{i}", Body=os.urandom(5 * mib))
    while chunk := r["Body"].read(1 << 20):
        h.update(chunk)
    assert h.hexdigest() == want, "the body is not the deleted object's"
    for i in range(6):
        s3.delete_object(Bucket=BUCKET, Key=f"mp70-filler-{i}")
    # Once the reader is done, the files go: nothing of the 35 MiB stays on disk.
    r["Body"].close()
    time.sleep(float(os.environ.get("DEPOT_SWEEP_WAIT", "9")))
    left = disk_bytes() - before
    assert left < 5 * mib, f"{left} bytes still on disk after the reader closed"


@scenario("boto3-upload-part-copy-shares-blob")
def _():
    mib = 1024 * 1024
    src = os.urandom(50 * mib)
    s3.put_object(Bucket=BUCKET, Key="upc-src", Body=src)
    tiny = os.urandom(3000)  # inline in PostgreSQL: copied, not shared
    s3.put_object(Bucket=BUCKET, Key="upc-tiny", Body=tiny)
    before = disk_bytes()
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key="upc-dst")["UploadId"]
    cs = {"Bucket": BUCKET, "Key": "upc-src"}
    p1 = s3.upload_part_copy(Bucket=BUCKET, Key="upc-dst", UploadId=uid, PartNumber=1, CopySource=cs)
    p2 = s3.upload_part_copy(Bucket=BUCKET, Key="upc-dst", UploadId=uid, PartNumber=2, CopySource=cs,
                             CopySourceRange=f"bytes={7 * mib}-{13 * mib - 1}")
    p3 = s3.upload_part_copy(Bucket=BUCKET, Key="upc-dst", UploadId=uid, PartNumber=3,
                             CopySource={"Bucket": BUCKET, "Key": "upc-tiny"})
    grown = disk_bytes() - before
    assert grown < 5 * mib, f"the blob store grew by {grown} bytes for 56 MiB of copied parts"
    want = src + src[7 * mib:13 * mib] + tiny
    assert p1["CopyPartResult"]["ETag"] == f'"{hashlib.md5(src).hexdigest()}"'
    assert p2["CopyPartResult"]["ETag"] == f'"{hashlib.md5(src[7 * mib:13 * mib]).hexdigest()}"'
    s3.complete_multipart_upload(Bucket=BUCKET, Key="upc-dst", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": i + 1, "ETag": p["CopyPartResult"]["ETag"]} for i, p in enumerate((p1, p2, p3))]})
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    assert sha(s3.get_object(Bucket=BUCKET, Key="upc-dst")["Body"].read()) == sha(want), "content differs"
    # A part copied from a range of a multipart object (spans its parts 1 and 2).
    uid2 = s3.create_multipart_upload(Bucket=BUCKET, Key="upc-dst2")["UploadId"]
    q1 = s3.upload_part_copy(Bucket=BUCKET, Key="upc-dst2", UploadId=uid2, PartNumber=1,
                             CopySource={"Bucket": BUCKET, "Key": "upc-dst"},
                             CopySourceRange=f"bytes={49 * mib}-{56 * mib + 99}")
    s3.complete_multipart_upload(Bucket=BUCKET, Key="upc-dst2", UploadId=uid2, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": q1["CopyPartResult"]["ETag"]}]})
    # An aborted upload that shared the source must not free the source's blob.
    uid3 = s3.create_multipart_upload(Bucket=BUCKET, Key="upc-aborted")["UploadId"]
    s3.upload_part_copy(Bucket=BUCKET, Key="upc-aborted", UploadId=uid3, PartNumber=1, CopySource=cs)
    s3.abort_multipart_upload(Bucket=BUCKET, Key="upc-aborted", UploadId=uid3)
    assert sha(s3.get_object(Bucket=BUCKET, Key="upc-src")["Body"].read()) == sha(src), "source damaged by abort"
    # Deleting the sources breaks neither copy.
    s3.delete_object(Bucket=BUCKET, Key="upc-src")
    s3.delete_object(Bucket=BUCKET, Key="upc-tiny")
    time.sleep(7)  # past the test server's orphan grace: a wrongly freed blob would be swept now
    assert sha(s3.get_object(Bucket=BUCKET, Key="upc-dst")["Body"].read()) == sha(want), "content differs after delete"
    s3.delete_object(Bucket=BUCKET, Key="upc-dst")
    got = s3.get_object(Bucket=BUCKET, Key="upc-dst2")["Body"].read()
    assert sha(got) == sha(want[49 * mib:56 * mib + 100]), "range of a multipart source differs"
    s3.delete_object(Bucket=BUCKET, Key="upc-dst2")
    time.sleep(7)
    left = disk_bytes() - before
    assert left < 5 * mib, f"{left} bytes still on disk after every copy and source was deleted"


@scenario("boto3-tagging-on-writes")
def _():
    tagset = lambda key: {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}  # noqa: E731
    s3.put_object(Bucket=BUCKET, Key="tw", Body=b"x", Tagging="a=1&b=two%20words&c=")
    assert tagset("tw") == {"a": "1", "b": "two words", "c": ""}, tagset("tw")
    assert s3.get_object(Bucket=BUCKET, Key="tw").get("TagCount") == 3
    h = s3.head_object(Bucket=BUCKET, Key="tw")["ResponseMetadata"]["HTTPHeaders"]
    assert h.get("x-amz-tagging-count") == "3", h
    s3.put_object_tagging(Bucket=BUCKET, Key="tw", Tagging={"TagSet": [{"Key": "z", "Value": "9"}]})
    assert s3.get_object(Bucket=BUCKET, Key="tw").get("TagCount") == 1
    # Copy: COPY (default) takes the source's tags, REPLACE those of the header (or none).
    s3.copy_object(Bucket=BUCKET, Key="tw-copy", CopySource={"Bucket": BUCKET, "Key": "tw"})
    assert tagset("tw-copy") == {"z": "9"}, tagset("tw-copy")
    s3.copy_object(Bucket=BUCKET, Key="tw-copy", CopySource={"Bucket": BUCKET, "Key": "tw"},
                   TaggingDirective="REPLACE", Tagging="k=v")
    assert tagset("tw-copy") == {"k": "v"} and s3.get_object(Bucket=BUCKET, Key="tw-copy")["TagCount"] == 1
    s3.copy_object(Bucket=BUCKET, Key="tw-copy", CopySource={"Bucket": BUCKET, "Key": "tw"}, TaggingDirective="REPLACE")
    assert tagset("tw-copy") == {} and "TagCount" not in s3.get_object(Bucket=BUCKET, Key="tw-copy")
    s3.copy_object(Bucket=BUCKET, Key="tw", CopySource={"Bucket": BUCKET, "Key": "tw"}, MetadataDirective="REPLACE",
                   Metadata={"m": "1"})
    assert tagset("tw") == {"z": "9"} and s3.get_object(Bucket=BUCKET, Key="tw")["TagCount"] == 1, "self-copy lost tags"
    # A new PUT starts untagged.
    s3.put_object(Bucket=BUCKET, Key="tw", Body=b"y")
    assert tagset("tw") == {} and "TagCount" not in s3.get_object(Bucket=BUCKET, Key="tw")
    s3.delete_object_tagging(Bucket=BUCKET, Key="tw-copy")
    # Multipart: the tags given at creation apply on completion.
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key="tw-mp", Tagging="p=q&r=s")["UploadId"]
    e = s3.upload_part(Bucket=BUCKET, Key="tw-mp", UploadId=uid, PartNumber=1, Body=b"z" * 100)["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="tw-mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert tagset("tw-mp") == {"p": "q", "r": "s"} and s3.get_object(Bucket=BUCKET, Key="tw-mp")["TagCount"] == 2
    # Validation as S3: nothing is stored when the tags are refused.
    many = "&".join(f"k{i}=v" for i in range(11))
    expect_error("InvalidTag", lambda: s3.put_object(Bucket=BUCKET, Key="tw-bad", Body=b"x", Tagging=many))
    expect_error("InvalidTag", lambda: s3.put_object(Bucket=BUCKET, Key="tw-bad", Body=b"x", Tagging="k" * 129 + "=v"))
    expect_error("InvalidTag", lambda: s3.put_object(Bucket=BUCKET, Key="tw-bad", Body=b"x", Tagging="k=" + "v" * 257))
    expect_error("InvalidTag", lambda: s3.put_object(Bucket=BUCKET, Key="tw-bad", Body=b"x", Tagging="aws:x=1"))
    expect_error("InvalidArgument", lambda: s3.put_object(Bucket=BUCKET, Key="tw-bad", Body=b"x", Tagging="a=1&a=2"))
    expect_error("InvalidTag", lambda: s3.create_multipart_upload(Bucket=BUCKET, Key="tw-bad", Tagging=many))
    expect_error("InvalidTag", lambda: s3.copy_object(Bucket=BUCKET, Key="tw-bad", CopySource={"Bucket": BUCKET, "Key": "tw"},
                                                      TaggingDirective="REPLACE", Tagging=many))
    expect_error("404", lambda: s3.head_object(Bucket=BUCKET, Key="tw-bad"))


@scenario("boto3-multipart-errors")
def _():
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key="mp-bad")["UploadId"]
    p1 = s3.upload_part(Bucket=BUCKET, Key="mp-bad", UploadId=uid, PartNumber=1, Body=b"small")
    p2 = s3.upload_part(Bucket=BUCKET, Key="mp-bad", UploadId=uid, PartNumber=2, Body=b"small")
    expect_error("InvalidPartOrder", lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-bad", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 2, "ETag": p2["ETag"]}, {"PartNumber": 1, "ETag": p1["ETag"]}]}))
    expect_error("InvalidPart", lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-bad", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]}))
    expect_error("EntityTooSmall", lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-bad", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]}))
    expect_error("InvalidArgument", lambda: s3.upload_part(Bucket=BUCKET, Key="mp-bad", UploadId=uid, PartNumber=10001, Body=b"x"))
    parts = "".join(f"<Part><PartNumber>{i}</PartNumber><ETag>x</ETag></Part>" for i in range(1, 10002))
    body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
    st, data = raw("POST", f"/{BUCKET}/mp-bad?uploadId={uid}", body)
    must(st, data, 400)
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp-bad", UploadId=uid)
    expect_error("NoSuchUpload", lambda: s3.list_parts(Bucket=BUCKET, Key="mp-bad", UploadId=uid))


@scenario("boto3-copy-and-delete-objects")
def _():
    s3.put_object(Bucket=BUCKET, Key="c1", Body=b"one", Metadata={"a": "1"})
    s3.copy_object(Bucket=BUCKET, Key="c2", CopySource={"Bucket": BUCKET, "Key": "c1"})
    assert s3.head_object(Bucket=BUCKET, Key="c2")["Metadata"] == {"a": "1"}
    s3.copy_object(Bucket=BUCKET, Key="c1", CopySource={"Bucket": BUCKET, "Key": "c1"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"})
    assert s3.head_object(Bucket=BUCKET, Key="c1")["Metadata"] == {"b": "2"}
    expect_error("InvalidRequest", lambda: s3.copy_object(Bucket=BUCKET, Key="c1", CopySource={"Bucket": BUCKET, "Key": "c1"}))
    r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "c1"}, {"Key": "c2"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["c1", "c2", "never"], r
    expect_error("NoSuchKey", lambda: s3.get_object(Bucket=BUCKET, Key="c1"))


@scenario("boto3-listing-delimiter-and-url-encoding")
def _():
    for k in ["d/a", "d/b/1", "d/b/2", "d/c d", "e"]:
        s3.put_object(Bucket=BUCKET, Key="L/" + k, Body=b"")
    r = s3.list_objects_v2(Bucket=BUCKET, Prefix="L/d/", Delimiter="/")
    assert [c["Key"] for c in r["Contents"]] == ["L/d/a", "L/d/c d"], r.get("Contents")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["L/d/b/"]
    assert r["KeyCount"] == 3
    r1 = s3.list_objects(Bucket=BUCKET, Prefix="L/", Delimiter="/", MaxKeys=1)
    assert r1["IsTruncated"] and r1.get("NextMarker"), r1


@scenario("boto3-bad-signature")
def _():
    expect_error("SignatureDoesNotMatch", lambda: client(sk="wrong" + SK).list_objects_v2(Bucket=BUCKET))
    expect_error("InvalidAccessKeyId", lambda: client(ak="DKNOSUCHKEY000000000").list_objects_v2(Bucket=BUCKET))
    st, data = raw("GET", f"/{BUCKET}?list-type=2", sign=False)
    must(st, data, 403, "AccessDenied")


@scenario("boto3-clock-skew")
def _():
    st, data = raw("GET", f"/{BUCKET}?list-type=2", when=datetime.datetime.utcnow() - datetime.timedelta(minutes=20))
    must(st, data, 403, "RequestTimeTooSkewed")


@scenario("boto3-wrong-region")
def _():
    # As AWS: a scope naming another region is refused with the one expected in <Region>, and the
    # SDK re-signs with it (boto3 for bucket operations; ListBuckets has no bucket to redirect).
    st, data = raw("GET", "/", region="eu-west-1")
    must(st, data, 400, "AuthorizationHeaderMalformed")
    assert b"<Region>us-east-1</Region>" in data and b"'eu-west-1' is wrong" in data, data
    other = client(region="eu-west-1")
    other.put_object(Bucket=BUCKET, Key="region.txt", Body=b"re-signed")
    assert other.get_object(Bucket=BUCKET, Key="region.txt")["Body"].read() == b"re-signed"
    url = client(region="eu-west-1", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "region.txt"})
    st, data = refused_url(url, "a URL presigned for eu-west-1")
    must(st, data, 400, "AuthorizationQueryParametersError")
    assert b"<Region>us-east-1</Region>" in data, data
    s3.delete_object(Bucket=BUCKET, Key="region.txt")


@scenario("boto3-expired-presign")
def _():
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "meta.txt"}, ExpiresIn=1)
    time.sleep(2)
    st, data = refused_url(url, "an expired URL")
    assert st == 403 and b"Request has expired" in data, data


@scenario("boto3-payload-sha256-mismatch")
def _():
    st, data = raw("PUT", f"/{BUCKET}/sha-mismatch", b"hello", payload_hash=hashlib.sha256(b"other").hexdigest())
    must(st, data, 400, "XAmzContentSHA256Mismatch")
    try:
        s3.head_object(Bucket=BUCKET, Key="sha-mismatch")
        raise AssertionError("the object was stored")
    except ClientError:
        pass


def chunked(payload, trailer_name=None, trailer_value=None):
    body = b""
    for i in range(0, len(payload), 4096):
        piece = payload[i:i + 4096]
        body += b"%x\r\n" % len(piece) + piece + b"\r\n"
    body += b"0\r\n"
    if trailer_name:
        body += f"{trailer_name}:{trailer_value}\r\n".encode()
    return body + b"\r\n"


def unsigned_trailer_put(key, payload, body, decoded_len=None):
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(decoded_len if decoded_len is not None else len(payload)),
               "x-amz-trailer": "x-amz-checksum-crc32", "Content-Length": str(len(body))}
    return raw("PUT", f"/{BUCKET}/{key}", body, headers, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")


@scenario("boto3-aws-chunked-unsigned-trailer")
def _():
    payload = os.urandom(10000)
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    st, data = unsigned_trailer_put("chunked-ok", payload, chunked(payload, "x-amz-checksum-crc32", crc))
    must(st, data, 200)
    got = s3.get_object(Bucket=BUCKET, Key="chunked-ok", ChecksumMode="ENABLED")
    assert got["Body"].read() == payload and got["ChecksumCRC32"] == crc
    assert "aws-chunked" not in (got.get("ContentEncoding") or "")


@scenario("boto3-aws-chunked-bad-input")
def _():
    payload = os.urandom(10000)
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    bad = base64.b64encode((zlib.crc32(payload) ^ 1).to_bytes(4, "big")).decode()
    st, data = unsigned_trailer_put("chunked-bad", payload, chunked(payload, "x-amz-checksum-crc32", bad))
    must(st, data, 400, "BadDigest")
    body = chunked(payload, "x-amz-checksum-crc32", crc)
    st, data = unsigned_trailer_put("chunked-bad", payload, body[:5000])  # truncated
    assert st == 400, (st, data[:200])
    st, data = unsigned_trailer_put("chunked-bad", payload, body, decoded_len=100)  # oversized
    assert st == 400, (st, data[:200])
    # Trailers other than the one x-amz-trailer names, or none where it names one (as S3 answers).
    crc32c_like = base64.b64encode(b"\0\0\0\0").decode()
    for wrong in (chunked(payload, "x-amz-checksum-crc32c", crc32c_like), chunked(payload, "x-foo", "bar"), chunked(payload)):
        st, data = unsigned_trailer_put("chunked-bad", payload, wrong)
        must(st, data, 400, "MalformedTrailerError")
    undeclared = chunked(payload, "x-amz-checksum-crc32", crc)
    st, data = raw("PUT", f"/{BUCKET}/chunked-bad", undeclared,
                   {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(payload)),
                    "Content-Length": str(len(undeclared))}, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    must(st, data, 400, "MalformedTrailerError")
    try:
        s3.head_object(Bucket=BUCKET, Key="chunked-bad")
        raise AssertionError("a refused upload was stored")
    except ClientError:
        pass


@scenario("boto3-malformed-xml-and-long-key")
def _():
    st, data = raw("POST", f"/{BUCKET}?delete", b"<Delete><Object><Key>a</Key>",
                   {"Content-MD5": base64.b64encode(hashlib.md5(b"<Delete><Object><Key>a</Key>").digest()).decode()})
    must(st, data, 400, "MalformedXML")
    expect_error("KeyTooLongError", lambda: s3.put_object(Bucket=BUCKET, Key="k" * 1025, Body=b"x"))
    expect_error("NoSuchBucket", lambda: s3.list_objects_v2(Bucket="no-such-bucket-" + BUCKET))
    expect_error("InvalidBucketName", lambda: s3.create_bucket(Bucket="Bad_Name"))
    expect_error("BucketAlreadyOwnedByYou", lambda: s3.create_bucket(Bucket=BUCKET))
    expect_error("BucketNotEmpty", lambda: s3.delete_bucket(Bucket=BUCKET))
    expect_error("InvalidRange", lambda: s3.get_object(Bucket=BUCKET, Key="meta.txt", Range="bytes=10-20"))
    # Keys and query values are UTF-8: other bytes are a client's mistake (400), never a 500.
    st, data = raw("PUT", f"/{BUCKET}/bad%FFkey", b"x")
    must(st, data, 400, "InvalidURI")
    st, data = raw("GET", f"/{BUCKET}?list-type=2&prefix=%C3%28")
    must(st, data, 400, "InvalidArgument")
    now = datetime.datetime.now(datetime.timezone.utc)
    st, data = raw("GET", f"/{BUCKET}/meta.txt", sign=False, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=\xff\xfe/" + now.strftime("%Y%m%d") +
                         "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"), "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    must(st, data, 403, "InvalidAccessKeyId")


@scenario("boto3-bucket-configurations-depot-has-none")
def _():
    # Tools that read every bucket setting (s3cmd info, Terraform's provider) get what S3 answers for
    # a bucket without the setting; deleting one succeeds; setting one is NotImplemented.
    absent = [("NoSuchBucketPolicy", s3.get_bucket_policy), ("NoSuchBucketPolicy", s3.get_bucket_policy_status),
              ("NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration),
              ("NoSuchWebsiteConfiguration", s3.get_bucket_website),
              ("ReplicationConfigurationNotFoundError", s3.get_bucket_replication),
              ("ObjectLockConfigurationNotFoundError", s3.get_object_lock_configuration),
              ("NoSuchPublicAccessBlockConfiguration", s3.get_public_access_block),
              ("OwnershipControlsNotFoundError", s3.get_bucket_ownership_controls),
              ("ServerSideEncryptionConfigurationNotFoundError", s3.get_bucket_encryption)]
    for code, fn in absent:
        e = expect_error(code, lambda: fn(Bucket=BUCKET))
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, (code, e.response["ResponseMetadata"])
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=BUCKET)
    n = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    assert not any(k.endswith("Configurations") for k in n), n
    assert s3.get_bucket_request_payment(Bucket=BUCKET)["Payer"] == "BucketOwner"
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=BUCKET)
    for fn in (s3.delete_bucket_policy, s3.delete_bucket_lifecycle, s3.delete_bucket_website, s3.delete_bucket_replication,
               s3.delete_public_access_block, s3.delete_bucket_ownership_controls, s3.delete_bucket_encryption):
        assert fn(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 204, fn
    expect_error("NotImplemented", lambda: s3.put_bucket_policy(Bucket=BUCKET, Policy='{"Version": "2012-10-17", "Statement": []}'))
    expect_error("NoSuchBucket", lambda: s3.get_bucket_policy(Bucket="no-such-bucket-" + BUCKET))
    expect_error("NoSuchBucket", lambda: s3.delete_bucket_lifecycle(Bucket="no-such-bucket-" + BUCKET))
    st, data = raw("DELETE", f"/{BUCKET}?object-lock")
    must(st, data, 405, "MethodNotAllowed")


@scenario("boto3-storage-options-depot-lacks-are-refused")
def _():
    # Server-side encryption, archive storage classes and object lock are refused, never ignored: a
    # client is not told its object is encrypted, archived or locked when it is not.
    k = "storage-options.txt"
    expect_error("NotImplemented", lambda: s3.put_object(Bucket=BUCKET, Key=k, Body=b"x", ServerSideEncryption="AES256"))
    expect_error("NotImplemented", lambda: s3.put_object(Bucket=BUCKET, Key=k, Body=b"x", ServerSideEncryption="aws:kms"))
    st, data = raw("PUT", f"/{BUCKET}/{k}", b"x", {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                                                  "x-amz-server-side-encryption-customer-key": base64.b64encode(b"k" * 32).decode()})
    must(st, data, 501, "NotImplemented")
    expect_error("InvalidStorageClass", lambda: s3.put_object(Bucket=BUCKET, Key=k, Body=b"x", StorageClass="GLACIER"))
    expect_error("InvalidStorageClass", lambda: s3.create_multipart_upload(Bucket=BUCKET, Key=k, StorageClass="DEEP_ARCHIVE"))
    expect_error("InvalidRequest", lambda: s3.put_object(Bucket=BUCKET, Key=k, Body=b"x", ObjectLockLegalHoldStatus="ON"))
    expect_error("404", lambda: s3.head_object(Bucket=BUCKET, Key=k))
    assert not s3.list_multipart_uploads(Bucket=BUCKET, Prefix=k).get("Uploads"), "a refused upload was created"
    s3.put_object(Bucket=BUCKET, Key=k, Body=b"x", StorageClass="STANDARD")
    expect_error("NotImplemented", lambda: s3.copy_object(Bucket=BUCKET, Key=k + ".copy", CopySource={"Bucket": BUCKET, "Key": k},
                                                          ServerSideEncryption="AES256"))
    s3.delete_object(Bucket=BUCKET, Key=k)



def delete_body(objects):
    """A DeleteObjects body for [(key, {element: value})] and its Content-MD5."""
    xml = "<Delete>" + "".join(
        "<Object><Key>" + k + "</Key>" + "".join(f"<{n}>{v}</{n}>" for n, v in extra.items()) + "</Object>"
        for k, extra in objects) + "</Delete>"
    body = xml.encode()
    return body, base64.b64encode(hashlib.md5(body).digest()).decode()


@scenario("boto3-deletes-keep-what-their-version-or-etag-does-not-name")
def _():
    k = "del-cond/obj"
    etag = s3.put_object(Bucket=BUCKET, Key=k, Body=b"keep me")["ETag"]
    # Buckets are unversioned: an id other than "null" names no version, and the object stays.
    expect_error("InvalidArgument", lambda: s3.delete_object(Bucket=BUCKET, Key=k, VersionId="3HL4kqtJlcpXroDTDmJ"))
    expect_error("InvalidArgument", lambda: s3.delete_object_tagging(Bucket=BUCKET, Key=k, VersionId="abc"))
    expect_error("InvalidArgument", lambda: s3.get_object_acl(Bucket=BUCKET, Key=k, VersionId="abc"))
    body, md5 = delete_body([(k, {"VersionId": "abc"}), (k + ".none", {"ETag": '"00000000000000000000000000000000"'})])
    st, data = raw("POST", f"/{BUCKET}?delete", body, {"Content-MD5": md5})
    must(st, data, 200)
    assert data.count(b"<Error>") == 2 and b"<Code>InvalidArgument</Code>" in data and \
        b"<Code>PreconditionFailed</Code>" in data, data
    # A per-object ETag is a condition: a stale one keeps the object, the current one deletes it.
    body, md5 = delete_body([(k, {"ETag": '"00000000000000000000000000000000"'})])
    st, data = raw("POST", f"/{BUCKET}?delete", body, {"Content-MD5": md5})
    must(st, data, 200)
    assert b"<Error><Key>del-cond/obj</Key><Code>PreconditionFailed</Code>" in data, data
    assert s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() == b"keep me"
    # S3 requires Content-MD5 or a checksum on a multi-object delete.
    body, md5 = delete_body([(k, {})])
    st, data = raw("POST", f"/{BUCKET}?delete", body)
    must(st, data, 400, "InvalidRequest")
    s3.head_object(Bucket=BUCKET, Key=k)
    body, md5 = delete_body([(k, {"ETag": etag, "VersionId": "null"})])
    st, data = raw("POST", f"/{BUCKET}?delete", body, {"Content-MD5": md5})
    must(st, data, 200)
    assert b"<Deleted><Key>del-cond/obj</Key></Deleted>" in data, data
    expect_error("404", lambda: s3.head_object(Bucket=BUCKET, Key=k))


@scenario("boto3-unknown-operations-are-not-taken-for-writes")
def _():
    k = "unknown-ops/dest"
    s3.put_object(Bucket=BUCKET, Key=k, Body=b"destination")
    # RenameObject (directory buckets only) must not become a PutObject with an empty body.
    st, data = raw("PUT", f"/{BUCKET}/{k}?renameObject", b"", {"x-amz-rename-source": f"/{BUCKET}/unknown-ops/src"})
    must(st, data, 501, "NotImplemented")
    assert s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() == b"destination"
    # Metadata-table configurations must not become a DeleteBucket (this bucket is not empty
    # here, so use a new, empty one).
    b2 = BUCKET + "-mt"
    s3.create_bucket(Bucket=b2)
    for q in ("metadataTable", "metadataConfiguration", "someFutureThing"):
        st, data = raw("DELETE", f"/{b2}?{q}")
        must(st, data, 501, "NotImplemented")
        assert f"<Resource>/{b2}</Resource>".encode() in data, data
    s3.head_bucket(Bucket=b2)
    s3.delete_bucket(Bucket=b2)
    s3.delete_object(Bucket=BUCKET, Key=k)


@scenario("boto3-presigned-query-headers-plus-and-unsigned-headers")
def _():
    from botocore.auth import S3SigV4QueryAuth
    creds = Credentials(AK, SK)
    # Presigners (the JS SDK, Ruby) move x-amz-meta-* and x-amz-tagging into the signed query.
    k = "presign-hoist/obj"
    req = AWSRequest("PUT", f"{EP}/{BUCKET}/{k}?x-amz-meta-colour=deep%20blue&x-amz-tagging=team%3Dinfra")
    S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=300).add_auth(req)
    with urllib.request.urlopen(urllib.request.Request(req.prepare().url, data=b"hoisted", method="PUT")) as r:
        assert r.status == 200
    assert s3.head_object(Bucket=BUCKET, Key=k)["Metadata"] == {"colour": "deep blue"}
    assert s3.get_object_tagging(Bucket=BUCKET, Key=k)["TagSet"] == [{"Key": "team", "Value": "infra"}]
    # Form encoders write a space in the query as '+' (and sign it as %20): S3 reads a space.
    url = s3v4.generate_presigned_url("get_object", Params={
        "Bucket": BUCKET, "Key": k, "ResponseContentDisposition": 'attachment; filename="a b.txt"'})
    assert "%20" in url
    with urllib.request.urlopen(url.replace("%20", "+")) as r:
        assert r.headers["Content-Disposition"] == 'attachment; filename="a b.txt"', r.headers["Content-Disposition"]
        assert r.read() == b"hoisted"
    # An x-amz-* header the Authorization header does not sign is refused (a copy source added
    # to a captured PUT would copy any of the signer's objects).
    req = AWSRequest("PUT", f"{EP}/{BUCKET}/presign-hoist/target", data=b"")
    req.headers["x-amz-content-sha256"] = hashlib.sha256(b"").hexdigest()
    SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
    headers["x-amz-copy-source"] = f"/{BUCKET}/{k}"
    st, data = raw("PUT", f"/{BUCKET}/presign-hoist/target", b"", headers, sign=False)
    must(st, data, 403, "AccessDenied")
    assert b"<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>" in data, data
    expect_error("404", lambda: s3.head_object(Bucket=BUCKET, Key="presign-hoist/target"))
    s3.delete_object(Bucket=BUCKET, Key=k)


def b64crc32(data, prev=0):
    return base64.b64encode(zlib.crc32(data, prev).to_bytes(4, "big")).decode()


@scenario("boto3-multipart-checksums-checked-as-s3-checks-them")
def _():
    import xml.etree.ElementTree as ET
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    big, tail = os.urandom(5 * 1024 * 1024), b"tail"
    k = "mp-sums/full"
    # FULL_OBJECT CRC32: the header on Complete is the whole object's CRC, not the XML body's.
    st, data = raw("POST", f"/{BUCKET}/{k}?uploads", b"", {"x-amz-checksum-algorithm": "CRC32",
                                                           "x-amz-checksum-type": "FULL_OBJECT"})
    must(st, data, 200)
    up = ET.fromstring(data).find(f"{ns}UploadId").text
    parts = []
    for n, chunk in ((1, big), (2, tail)):
        r = s3.upload_part(Bucket=BUCKET, Key=k, UploadId=up, PartNumber=n, Body=chunk, ChecksumCRC32=b64crc32(chunk))
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    whole = b64crc32(tail, zlib.crc32(big))
    expect_error("BadDigest", lambda: s3.complete_multipart_upload(
        Bucket=BUCKET, Key=k, UploadId=up, MultipartUpload={"Parts": parts}, ChecksumCRC32=b64crc32(b"other")))
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key=k, UploadId=up, MultipartUpload={"Parts": parts},
                                        ChecksumCRC32=whole)
    assert done["ChecksumCRC32"] == whole, (done.get("ChecksumCRC32"), whole)
    assert hashlib.md5(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()).digest() == hashlib.md5(big + tail).digest()
    # COMPOSITE CRC32: the part checksums listed must be the parts'; S3 requires them.
    k2 = "mp-sums/composite"
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=k2, ChecksumAlgorithm="CRC32")["UploadId"]
    r1 = s3.upload_part(Bucket=BUCKET, Key=k2, UploadId=up, PartNumber=1, Body=big, ChecksumAlgorithm="CRC32")
    # A part sent without a checksum gets one computed (the object's checksum needs it).
    st, data = raw("PUT", f"/{BUCKET}/{k2}?partNumber=2&uploadId={up}", tail)
    must(st, data, 200)
    listed = s3.list_parts(Bucket=BUCKET, Key=k2, UploadId=up)["Parts"]
    assert [p.get("ChecksumCRC32") for p in listed] == [b64crc32(big), b64crc32(tail)], listed
    good = [{"PartNumber": 1, "ETag": r1["ETag"], "ChecksumCRC32": b64crc32(big)},
            {"PartNumber": 2, "ETag": listed[1]["ETag"], "ChecksumCRC32": b64crc32(tail)}]
    wrong = [dict(good[0]), dict(good[1], ChecksumCRC32="AAAAAA==")]
    missing = [dict(good[0]), {"PartNumber": 2, "ETag": listed[1]["ETag"]}]
    expect_error("InvalidPart", lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=k2, UploadId=up,
                                                                     MultipartUpload={"Parts": wrong}))
    expect_error("InvalidRequest", lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=k2, UploadId=up,
                                                                        MultipartUpload={"Parts": missing}))
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key=k2, UploadId=up, MultipartUpload={"Parts": good})
    want = base64.b64encode(zlib.crc32(base64.b64decode(good[0]["ChecksumCRC32"]) +
                                       base64.b64decode(good[1]["ChecksumCRC32"])).to_bytes(4, "big")).decode() + "-2"
    assert done["ChecksumCRC32"] == want, (done["ChecksumCRC32"], want)
    # A repeated Complete (an SDK retrying a lost answer) answers as the first did.
    again = s3.complete_multipart_upload(Bucket=BUCKET, Key=k2, UploadId=up, MultipartUpload={"Parts": good})
    assert (again["ETag"], again["ChecksumCRC32"]) == (done["ETag"], done["ChecksumCRC32"]), again
    s3.put_object(Bucket=BUCKET, Key=k2, Body=b"replaced")
    expect_error("NoSuchUpload", lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=k2, UploadId=up,
                                                                      MultipartUpload={"Parts": good}))
    # UploadPartCopy of a small source computes the part's checksum and returns it.
    s3.put_object(Bucket=BUCKET, Key="mp-sums/src", Body=b"0123456789" * 10)
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="mp-sums/copy", ChecksumAlgorithm="CRC32")["UploadId"]
    r = s3.upload_part_copy(Bucket=BUCKET, Key="mp-sums/copy", UploadId=up, PartNumber=1,
                            CopySource={"Bucket": BUCKET, "Key": "mp-sums/src"}, CopySourceRange="bytes=0-9")
    assert r["CopyPartResult"].get("ChecksumCRC32") == b64crc32(b"0123456789"), r["CopyPartResult"]
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp-sums/copy", UploadId=up)
    # CRC64NVME is always a full-object checksum.
    st, data = raw("POST", f"/{BUCKET}/mp-sums/n64?uploads", b"", {"x-amz-checksum-algorithm": "CRC64NVME"})
    must(st, data, 200)
    up = ET.fromstring(data).find(f"{ns}UploadId").text
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp-sums/n64", UploadId=up)
    st, data = raw("POST", f"/{BUCKET}/mp-sums/n64?uploads", b"", {"x-amz-checksum-algorithm": "CRC64NVME",
                                                                   "x-amz-checksum-type": "COMPOSITE"})
    must(st, data, 400, "InvalidRequest")
    for key in (k, k2, "mp-sums/src"):
        s3.delete_object(Bucket=BUCKET, Key=key)


@scenario("boto3-object-parts-attributes-and-redirect-location")
def _():
    k = "attrs/single"
    s3.put_object(Bucket=BUCKET, Key=k, Body=b"0123456789", WebsiteRedirectLocation="/elsewhere")
    assert s3.head_object(Bucket=BUCKET, Key=k)["WebsiteRedirectLocation"] == "/elsewhere"
    expect_error("InvalidRedirectLocation", lambda: s3.put_object(Bucket=BUCKET, Key=k + "x", Body=b"x",
                                                                  WebsiteRedirectLocation="elsewhere"))
    # Part 1 of an object not uploaded in parts is the whole object, answered as a range.
    st, data = raw("GET", f"/{BUCKET}/{k}?partNumber=1")
    must(st, data, 206)
    got = s3.get_object(Bucket=BUCKET, Key=k, PartNumber=1)
    assert got["ContentRange"] == "bytes 0-9/10" and got["Body"].read() == b"0123456789", got.get("ContentRange")
    # A multipart object: the parts count comes with a part request only; attributes list the parts.
    mk = "attrs/multi"
    big = os.urandom(5 * 1024 * 1024)
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=mk)["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=BUCKET, Key=mk, UploadId=up, PartNumber=n, Body=b)["ETag"]}
             for n, b in ((1, big), (2, big), (3, b"end"))]
    s3.complete_multipart_upload(Bucket=BUCKET, Key=mk, UploadId=up, MultipartUpload={"Parts": parts})
    assert "PartsCount" not in s3.head_object(Bucket=BUCKET, Key=mk)
    assert s3.head_object(Bucket=BUCKET, Key=mk, PartNumber=2)["PartsCount"] == 3
    a = s3.get_object_attributes(Bucket=BUCKET, Key=mk, ObjectAttributes=["ObjectParts", "ObjectSize"], MaxParts=2)
    op = a["ObjectParts"]
    assert op["TotalPartsCount"] == 3 and op["IsTruncated"] and op["NextPartNumberMarker"] == 2, op
    assert [(p["PartNumber"], p["Size"]) for p in op["Parts"]] == [(1, len(big)), (2, len(big))], op
    assert a["ObjectSize"] == 2 * len(big) + 3
    op = s3.get_object_attributes(Bucket=BUCKET, Key=mk, ObjectAttributes=["ObjectParts"],
                                  PartNumberMarker=2)["ObjectParts"]
    assert [p["PartNumber"] for p in op["Parts"]] == [3] and not op["IsTruncated"], op
    st, data = raw("GET", f"/{BUCKET}/{mk}?attributes", b"", {"x-amz-object-attributes": "ETag,Colour"})
    must(st, data, 400, "InvalidArgument")
    st, data = raw("GET", f"/{BUCKET}/{mk}?attributes")
    must(st, data, 400, "InvalidArgument")
    for key in (k, mk):
        s3.delete_object(Bucket=BUCKET, Key=key)


@scenario("boto3-bucket-listing-pages-names-lock-owner-versioning-cors")
def _():
    import xml.etree.ElementTree as ET
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    made = [f"{BUCKET}-lb-{i}" for i in range(3)]
    for b in made:
        s3.create_bucket(Bucket=b)
    try:
        # ListBuckets' paginated form: prefix, max-buckets, continuation-token, BucketRegion.
        seen, token = [], None
        for _ in range(5):
            q = f"/?prefix={BUCKET}-lb-&max-buckets=2" + (f"&continuation-token={urllib.parse.quote(token, safe='')}" if token else "")
            st, data = raw("GET", q)
            must(st, data, 200)
            doc = ET.fromstring(data)
            seen += [b.find(f"{ns}Name").text for b in doc.iter(f"{ns}Bucket")]
            assert all(b.find(f"{ns}BucketRegion").text == "us-east-1" for b in doc.iter(f"{ns}Bucket"))
            t = doc.find(f"{ns}ContinuationToken")
            if t is None:
                break
            token = t.text
        assert seen == made, seen
        st, data = raw("GET", "/?max-buckets=0")
        must(st, data, 400, "InvalidArgument")
        # Names S3 reserves, and object lock asked for at creation, are refused.
        for name in ("amzn-s3-demo-bkt", f"{BUCKET}.mrap", f"{BUCKET}--x-s3", f"{BUCKET}--table-s3"):
            expect_error("InvalidBucketName", lambda: s3.create_bucket(Bucket=name))
        expect_error("NotImplemented", lambda: s3.create_bucket(Bucket=BUCKET + "-locked", ObjectLockEnabledForBucket=True))
        expect_error("404", lambda: s3.head_bucket(Bucket=BUCKET + "-locked"))
        # The expected owner is the user (ListBuckets' Owner ID); any other is refused.
        owner = s3.list_buckets()["Owner"]["ID"]
        s3.head_bucket(Bucket=made[0], ExpectedBucketOwner=owner)
        expect_error("403", lambda: s3.head_bucket(Bucket=made[0], ExpectedBucketOwner="111122223333"))
        # Suspending versioning is remembered.
        assert "Status" not in s3.get_bucket_versioning(Bucket=made[0])
        s3.put_bucket_versioning(Bucket=made[0], VersioningConfiguration={"Status": "Suspended"})
        assert s3.get_bucket_versioning(Bucket=made[0])["Status"] == "Suspended"
        # CORS rules come back as written: the ID, and header names in their case.
        rule = {"ID": "rule-1", "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"],
                "AllowedHeaders": ["Authorization"]}
        s3.put_bucket_cors(Bucket=made[0], CORSConfiguration={"CORSRules": [rule]})
        got = s3.get_bucket_cors(Bucket=made[0])["CORSRules"][0]
        assert got["ID"] == "rule-1" and got["AllowedHeaders"] == ["Authorization"], got
        expect_error("InvalidRequest", lambda: s3.put_bucket_cors(Bucket=made[0], CORSConfiguration={"CORSRules": [
            dict(rule, AllowedOrigins=["http://*.*.example.com"])]}))
    finally:
        for b in made:
            s3.delete_bucket(Bucket=b)


@scenario("boto3-malformed-input-found-by-fuzzing")
def _():
    k = "fuzz2/obj"
    s3.put_object(Bucket=BUCKET, Key="fuzz2/a%00b", Body=b"LITERAL")
    # A copy source that does not decode names no key (it used to copy the literal "a%00b").
    st, data = raw("PUT", f"/{BUCKET}/{k}", b"", {"x-amz-copy-source": f"/{BUCKET}/fuzz2/a%00b"})
    must(st, data, 400, "InvalidArgument")
    expect_error("404", lambda: s3.head_object(Bucket=BUCKET, Key=k))
    # A query that does not decode is refused before authentication (never a signature failure).
    st, data = raw("GET", f"/{BUCKET}?list-type=2&prefix=a%00")
    must(st, data, 400, "InvalidArgument")
    # XML that is not well-formed: an unknown entity, text after the root, an undeclared prefix.
    s3.put_object(Bucket=BUCKET, Key=k, Body=b"x")
    for bad in (b"<Tagging><TagSet><Tag><Key>k</Key><Value>a&nope;b</Value></Tag></TagSet></Tagging>",
                b"<Tagging><TagSet/></Tagging>trailing", b"<x:Tagging><x:TagSet/></x:Tagging>"):
        st, data = raw("PUT", f"/{BUCKET}/{k}?tagging", bad)
        must(st, data, 400, "MalformedXML")
    body, md5 = delete_body([(k, {})])
    body = body.replace(b"<Delete>", b"<Delete><Quiet>maybe</Quiet>")
    st, data = raw("POST", f"/{BUCKET}?delete", body, {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    must(st, data, 400, "MalformedXML")
    # A PUT with neither Content-Length nor a chunked body: S3 requires the length.
    req = AWSRequest(method="PUT", url=f"{EP}/{BUCKET}/{k}", data=b"")
    req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    u = urllib.parse.urlsplit(EP)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest("PUT", f"/{BUCKET}/{k}", skip_accept_encoding=True)
    for hk, hv in req.headers.items():
        if hk.lower() != "content-length":
            conn.putheader(hk, hv)
    conn.endheaders()
    r = conn.getresponse()
    data = r.read()
    conn.close()
    must(r.status, data, 411, "MissingContentLength")
    assert s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() == b"x"
    for key in (k, "fuzz2/a%00b"):
        s3.delete_object(Bucket=BUCKET, Key=key)

# Clean up through ListObjectVersions, as some tools do.
try:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        objs = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
        if objs:
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": objs})
    for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=BUCKET)
    print("PASS boto3-cleanup-via-list-object-versions")
except Exception as e:  # noqa: BLE001
    failed += 1
    print(f"FAIL boto3-cleanup-via-list-object-versions: {e}")

sys.exit(1 if failed else 0)
