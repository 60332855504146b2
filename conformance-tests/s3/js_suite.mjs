// The current JavaScript SDK (@aws-sdk/client-s3 + lib-storage), which sends aws-chunked bodies
// with CRC32 trailers by default: put, get, multipart upload, list, delete. Prints PASS/FAIL lines.
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command,
  DeleteObjectCommand, DeleteBucketCommand, HeadObjectCommand, CopyObjectCommand, CreateMultipartUploadCommand,
  ListMultipartUploadsCommand, AbortMultipartUploadCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createHash, randomBytes } from "node:crypto";

const s3 = new S3Client({
  endpoint: process.env.DEPOT_ENDPOINT, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: process.env.DEPOT_ACCESS_KEY, secretAccessKey: process.env.DEPOT_SECRET_KEY },
});
const Bucket = process.argv[2];
let failed = 0;
const sha = (b) => createHash("sha256").update(b).digest("hex");
async function scenario(name, fn) {
  try { await fn(); console.log(`PASS ${name}`); }
  catch (e) { failed++; console.log(`FAIL ${name}: ${String(e && (e.Code || e.name) || "")} ${String(e && e.message || e).slice(0, 250)}`); }
}
async function body(key) {
  const r = await s3.send(new GetObjectCommand({ Bucket, Key: key }));
  return Buffer.from(await r.Body.transformToByteArray());
}

await scenario("js-create-bucket", () => s3.send(new CreateBucketCommand({ Bucket })));
const small = randomBytes(100000);
await scenario("js-put-get", async () => {
  await s3.send(new PutObjectCommand({ Bucket, Key: "small.bin", Body: small }));
  if (sha(await body("small.bin")) !== sha(small)) throw new Error("content differs");
  const h = await s3.send(new HeadObjectCommand({ Bucket, Key: "small.bin", ChecksumMode: "ENABLED" }));
  if (!h.ChecksumCRC32) throw new Error("no CRC32 stored");
});
const big = randomBytes(12 * 1024 * 1024 + 333);
await scenario("js-multipart-upload", async () => {
  const up = new Upload({ client: s3, params: { Bucket, Key: "big.bin", Body: big }, partSize: 5 * 1024 * 1024, queueSize: 2 });
  await up.done();
  if (sha(await body("big.bin")) !== sha(big)) throw new Error("content differs");
});
await scenario("js-list", async () => {
  const r = await s3.send(new ListObjectsV2Command({ Bucket }));
  const keys = (r.Contents || []).map((c) => c.Key).sort().join(",");
  if (keys !== "big.bin,small.bin") throw new Error(`listed ${keys}`);
});
await scenario("js-presigned-put-with-default-checksum-settings", async () => {
  // The presigner puts the CRC32 of an empty body in the query; S3 ignores checksums there.
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: "presigned.txt" }), { expiresIn: 300 });
  const r = await fetch(url, { method: "PUT", body: "hello from a browser" });
  if (r.status !== 200) throw new Error(`presigned PUT: ${r.status} ${(await r.text()).slice(0, 200)}`);
  if ((await body("presigned.txt")).toString() !== "hello from a browser") throw new Error("content differs");
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "presigned.txt" }));
});
await scenario("js-checksum-fields-and-copy-with-new-algorithm", async () => {
  const put = await s3.send(new PutObjectCommand({ Bucket, Key: "sum.txt", Body: "checksum me" }));
  if (put.ChecksumType !== "FULL_OBJECT") throw new Error(`PutObject ChecksumType ${put.ChecksumType}`);
  const cp = await s3.send(new CopyObjectCommand({ Bucket, Key: "sum-copy.txt", CopySource: `${Bucket}/sum.txt`,
    ChecksumAlgorithm: "SHA256" }));
  const want = createHash("sha256").update("checksum me").digest("base64");
  if (cp.CopyObjectResult.ChecksumSHA256 !== want) throw new Error(`CopyObjectResult ${JSON.stringify(cp.CopyObjectResult)}`);
  const h = await s3.send(new HeadObjectCommand({ Bucket, Key: "sum-copy.txt", ChecksumMode: "ENABLED" }));
  if (h.ChecksumSHA256 !== want) throw new Error(`copy's SHA256 ${h.ChecksumSHA256}`);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "mpu.bin", ChecksumAlgorithm: "CRC32C" }));
  const l = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
  const u = (l.Uploads || []).find((x) => x.UploadId === up.UploadId);
  if (!u || u.ChecksumAlgorithm !== "CRC32C") throw new Error(`listed upload ${JSON.stringify(u)}`);
  await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: "mpu.bin", UploadId: up.UploadId }));
  for (const Key of ["sum.txt", "sum-copy.txt"]) await s3.send(new DeleteObjectCommand({ Bucket, Key }));
});
await scenario("js-delete", async () => {
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "small.bin" }));
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "big.bin" }));
  await s3.send(new DeleteBucketCommand({ Bucket }));
});
process.exit(failed ? 1 : 0);
