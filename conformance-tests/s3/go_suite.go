// The AWS SDK for Go v2 (Debian's golang-github-aws-aws-sdk-go-v2-dev) against depot: put and
// get with signed payloads and CRC32 checksums, the transfer manager's multipart upload and
// ranged parallel download, ListObjectsV2 paging with a delimiter, ranges, conditional GETs,
// copy with replaced metadata, DeleteObjects, presigned GET, and the SDK's typed errors.
// Usage: go_suite BUCKET (env DEPOT_ENDPOINT, DEPOT_ACCESS_KEY, DEPOT_SECRET_KEY).
// Prints PASS/FAIL lines; exits 1 if any failed.
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var (
	ctx    = context.Background()
	bucket string
	client *s3.Client
	failed int
)

func scenario(name string, fn func() error) {
	if err := fn(); err != nil {
		failed++
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		if len(msg) > 300 {
			msg = msg[:300]
		}
		fmt.Printf("FAIL %s: %s\n", name, msg)
		return
	}
	fmt.Printf("PASS %s\n", name)
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func get(key string, opts ...func(*s3.GetObjectInput)) ([]byte, *s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, o := range opts {
		o(in)
	}
	out, err := client.GetObject(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out, err
}

func put(key string, body []byte) error {
	_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

// The HTTP status of an SDK error (0 if it has none).
func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func main() {
	bucket = os.Args[1]
	client = s3.New(s3.Options{
		Region:           "us-east-1",
		EndpointResolver: s3.EndpointResolverFromURL(os.Getenv("DEPOT_ENDPOINT")),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(os.Getenv("DEPOT_ACCESS_KEY"), os.Getenv("DEPOT_SECRET_KEY"), ""),
	})

	scenario("go-create-bucket", func() error {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return err
		}
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		var owned *types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return fmt.Errorf("creating it again: want BucketAlreadyOwnedByYou, got %v", err)
		}
		_, err = client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
		return err
	})

	small := random(300000)
	scenario("go-put-get-metadata", func() error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("dir/small.bin"), Body: bytes.NewReader(small),
			ContentType: aws.String("application/x-test"), CacheControl: aws.String("max-age=60"),
			Metadata: map[string]string{"colour": "blue", "n": "1"},
		})
		if err != nil {
			return err
		}
		got, out, err := get("dir/small.bin")
		if err != nil {
			return err
		}
		if sum(got) != sum(small) {
			return errors.New("content differs")
		}
		m := md5.Sum(small)
		if aws.ToString(out.ETag) != `"`+hex.EncodeToString(m[:])+`"` {
			return fmt.Errorf("ETag %s is not the MD5", aws.ToString(out.ETag))
		}
		if aws.ToString(out.ContentType) != "application/x-test" || aws.ToString(out.CacheControl) != "max-age=60" ||
			out.Metadata["colour"] != "blue" || out.Metadata["n"] != "1" || out.ContentLength != int64(len(small)) {
			return fmt.Errorf("headers not as stored: %s %s %v %d", aws.ToString(out.ContentType),
				aws.ToString(out.CacheControl), out.Metadata, out.ContentLength)
		}
		return nil
	})

	scenario("go-checksum-crc32", func() error {
		body := random(70000)
		out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("crc.bin"),
			Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		if err != nil {
			return err
		}
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], crc32.ChecksumIEEE(body))
		want := base64.StdEncoding.EncodeToString(c[:])
		if aws.ToString(out.ChecksumCRC32) != want {
			return fmt.Errorf("PutObject answered CRC32 %q, want %q", aws.ToString(out.ChecksumCRC32), want)
		}
		h, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("crc.bin"),
			ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			return err
		}
		if aws.ToString(h.ChecksumCRC32) != want {
			return fmt.Errorf("HeadObject CRC32 %q, want %q", aws.ToString(h.ChecksumCRC32), want)
		}
		// A wrong checksum is refused and stores nothing.
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("crc-bad.bin"),
			Body: bytes.NewReader(body), ChecksumCRC32: aws.String("AAAAAA==")})
		if status(err) != 400 {
			return fmt.Errorf("a wrong CRC32: want 400, got %v", err)
		}
		_, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("crc-bad.bin")})
		if status(err) != 404 {
			return fmt.Errorf("the refused object exists: %v", err)
		}
		return nil
	})

	big := random(17*1024*1024 + 4321)
	scenario("go-manager-multipart-upload-download", func() error {
		up := manager.NewUploader(client, func(u *manager.Uploader) { u.PartSize = 5 * 1024 * 1024; u.Concurrency = 3 })
		// A plain io.Reader: the uploader reads it part by part.
		if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin"),
			Body: io.MultiReader(bytes.NewReader(big))}); err != nil {
			return err
		}
		h, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin")})
		if err != nil {
			return err
		}
		if !strings.HasSuffix(aws.ToString(h.ETag), `-4"`) || h.ContentLength != int64(len(big)) {
			return fmt.Errorf("ETag %s, size %d: not a 4-part object", aws.ToString(h.ETag), h.ContentLength)
		}
		down := manager.NewDownloader(client, func(d *manager.Downloader) { d.PartSize = 4 * 1024 * 1024; d.Concurrency = 3 })
		buf := manager.NewWriteAtBuffer(nil)
		n, err := down.Download(ctx, buf, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin")})
		if err != nil {
			return err
		}
		if n != int64(len(big)) || sum(buf.Bytes()) != sum(big) {
			return errors.New("downloaded content differs")
		}
		part, out, err := get("big.bin", func(in *s3.GetObjectInput) { in.PartNumber = 2 })
		if err != nil {
			return err
		}
		if out.PartsCount != 4 || sum(part) != sum(big[5*1024*1024:10*1024*1024]) {
			return fmt.Errorf("part 2: %d bytes of %d parts", len(part), out.PartsCount)
		}
		return nil
	})

	scenario("go-list-v2-paging-delimiter", func() error {
		var want []string
		for i := 0; i < 7; i++ {
			k := fmt.Sprintf("list/k%02d", i)
			want = append(want, k)
			if err := put(k, []byte(k)); err != nil {
				return err
			}
		}
		if err := put("list/sub/deep", []byte("x")); err != nil {
			return err
		}
		var keys []string
		var prefixes []string
		pages := 0
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("list/"),
			Delimiter: aws.String("/"), MaxKeys: 3})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			pages++
			if page.KeyCount > 3 {
				return fmt.Errorf("a page of %d for max-keys 3", page.KeyCount)
			}
			for _, o := range page.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, c := range page.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(c.Prefix))
			}
		}
		if strings.Join(keys, ",") != strings.Join(want, ",") || strings.Join(prefixes, ",") != "list/sub/" || pages != 3 {
			return fmt.Errorf("%d pages: keys %v, prefixes %v", pages, keys, prefixes)
		}
		return nil
	})

	scenario("go-range-and-conditional-get", func() error {
		got, out, err := get("dir/small.bin", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=1000-1999") })
		if err != nil {
			return err
		}
		if !bytes.Equal(got, small[1000:2000]) || aws.ToString(out.ContentRange) != fmt.Sprintf("bytes 1000-1999/%d", len(small)) {
			return fmt.Errorf("range: %d bytes, Content-Range %s", len(got), aws.ToString(out.ContentRange))
		}
		got, _, err = get("dir/small.bin", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=-100") })
		if err != nil || !bytes.Equal(got, small[len(small)-100:]) {
			return fmt.Errorf("suffix range: %v", err)
		}
		_, _, err = get("dir/small.bin", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=999999-") })
		if status(err) != 416 || code(err) != "InvalidRange" {
			return fmt.Errorf("range past the end: want 416 InvalidRange, got %v", err)
		}
		etag := aws.ToString(out.ETag)
		_, _, err = get("dir/small.bin", func(in *s3.GetObjectInput) { in.IfNoneMatch = aws.String(etag) })
		if status(err) != 304 {
			return fmt.Errorf("If-None-Match the ETag: want 304, got %v", err)
		}
		_, _, err = get("dir/small.bin", func(in *s3.GetObjectInput) { in.IfMatch = aws.String(`"0123"`) })
		if status(err) != 412 {
			return fmt.Errorf("If-Match another ETag: want 412, got %v", err)
		}
		_, _, err = get("dir/small.bin", func(in *s3.GetObjectInput) { in.IfModifiedSince = aws.Time(time.Now().Add(time.Hour)) })
		if status(err) != 304 {
			return fmt.Errorf("If-Modified-Since later: want 304, got %v", err)
		}
		return nil
	})

	scenario("go-copy-replace-metadata", func() error {
		_, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy.bin"),
			CopySource: aws.String(bucket + "/dir/small.bin"), MetadataDirective: types.MetadataDirectiveReplace,
			ContentType: aws.String("text/plain"), Metadata: map[string]string{"colour": "red"}})
		if err != nil {
			return err
		}
		got, out, err := get("copy.bin")
		if err != nil {
			return err
		}
		if sum(got) != sum(small) || out.Metadata["colour"] != "red" || out.Metadata["n"] != "" ||
			aws.ToString(out.ContentType) != "text/plain" {
			return fmt.Errorf("copy: metadata %v, type %s", out.Metadata, aws.ToString(out.ContentType))
		}
		return nil
	})

	scenario("go-presigned-get", func() error {
		ps := s3.NewPresignClient(client)
		req, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/small.bin")},
			s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			return err
		}
		resp, err := http.Get(req.URL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || sum(got) != sum(small) {
			return fmt.Errorf("presigned GET: %d, %d bytes", resp.StatusCode, len(got))
		}
		// The same URL with its signature changed is refused.
		resp2, err := http.Get(strings.Replace(req.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1))
		if err != nil {
			return err
		}
		resp2.Body.Close()
		if resp2.StatusCode != 403 {
			return fmt.Errorf("a changed signature: %d", resp2.StatusCode)
		}
		return nil
	})

	scenario("go-typed-errors", func() error {
		_, _, err := get("no/such/key")
		var nsk *types.NoSuchKey
		if !errors.As(err, &nsk) {
			return fmt.Errorf("missing key: want NoSuchKey, got %v", err)
		}
		_, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("no/such/key")})
		if status(err) != 404 || code(err) != "NotFound" { // a HEAD answer has no body: the SDK names the status
			return fmt.Errorf("HeadObject of a missing key: want 404 NotFound, got %v", err)
		}
		_, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket + "-none")})
		var nsb *types.NoSuchBucket
		if !errors.As(err, &nsb) {
			return fmt.Errorf("missing bucket: want NoSuchBucket, got %v", err)
		}
		_, err = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
		if code(err) != "BucketNotEmpty" || status(err) != 409 {
			return fmt.Errorf("deleting a bucket with objects: want 409 BucketNotEmpty, got %v", err)
		}
		_, err = client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket),
			Key: aws.String("x"), UploadId: aws.String("nonesuch"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: 1, ETag: aws.String(`"a"`)}}}})
		if status(err) != 404 || code(err) != "NoSuchUpload" {
			return fmt.Errorf("completing an unknown upload: want 404 NoSuchUpload, got %v", err)
		}
		_, err = client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket),
			Key: aws.String("x"), UploadId: aws.String("nonesuch")})
		var nsu *types.NoSuchUpload
		if !errors.As(err, &nsu) {
			return fmt.Errorf("aborting an unknown upload: want NoSuchUpload, got %v", err)
		}
		return nil
	})

	scenario("go-delete-objects-and-bucket", func() error {
		var ids []types.ObjectIdentifier
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, o := range page.Contents {
				ids = append(ids, types.ObjectIdentifier{Key: o.Key})
			}
		}
		ids = append(ids, types.ObjectIdentifier{Key: aws.String("never/existed")})
		out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids}})
		if err != nil {
			return err
		}
		var deleted []string
		for _, d := range out.Deleted {
			deleted = append(deleted, aws.ToString(d.Key))
		}
		sort.Strings(deleted)
		if len(deleted) != len(ids) || len(out.Errors) != 0 {
			return fmt.Errorf("deleted %d of %d, errors %v", len(deleted), len(ids), out.Errors)
		}
		_, err = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
		return err
	})

	if failed > 0 {
		os.Exit(1)
	}
}
