// PUT one body through the outage gateway with the AWS SDK for JavaScript v3; print what happened as JSON.
// usage: node put.mjs ENDPOINT BUCKET KEY SIZE_BYTES [multipart]
import { S3Client, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { randomBytes } from "node:crypto";

const [endpoint, bucket, key, size, mode] = process.argv.slice(2);
const client = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 2,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
});
const body = randomBytes(Number(size));
try {
  if (mode === "multipart") {
    await new Upload({ client, params: { Bucket: bucket, Key: key, Body: body }, partSize: 5 * 1024 * 1024, queueSize: 1 }).done();
  } else {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  console.log(JSON.stringify({ ok: true }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, name: error.name, code: error.code ?? null, attempts: error.$metadata?.attempts ?? null }));
}
