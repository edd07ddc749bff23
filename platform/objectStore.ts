/**
 * Kerf's object store: one S3 bucket reached through @aws-sdk/client-s3, whatever serves it
 * (the embedded versitygw, MinIO, Ceph or AWS S3).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { S3Config } from './config';

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date | undefined;
}

/** A multipart upload started and never completed nor aborted. */
export interface OpenUpload {
  key: string;
  uploadId: string;
  initiated: Date | undefined;
}

/**
 * The S3 client's options for Kerf's configuration. An endpoint of its own (the embedded store,
 * MinIO, Ceph...) gets its static keys; AWS S3 (no endpoint) gets the SDK's regional endpoint, and,
 * without static keys, no credentials at all, so the SDK's default chain finds them (AWS_* variables,
 * the shared config and profile, web identity, the container or instance role).
 */
export function s3ClientConfig(config: S3Config): S3ClientConfig {
  return {
    ...(config.endpoint !== undefined && { endpoint: config.endpoint }),
    ...(config.region !== undefined && { region: config.region }),
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials !== undefined && { credentials: { ...config.credentials } }),
    // Checksums on every request are the SDK's new default; S3-compatible servers vary in support,
    // AWS S3 itself supports them.
    ...(config.endpoint !== undefined && {
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  };
}

/** One bucket, with the few operations Kerf needs. */
export class ObjectStore {
  readonly bucket: string;
  /** putOnce calls of this client still in flight, by key: one write per key at a time. */
  readonly #writingOnce = new Map<string, Promise<boolean>>();

  constructor(
    readonly client: S3Client,
    bucket: string,
  ) {
    this.bucket = bucket;
  }

  /** Builds a store from the `s3` part of Kerf's configuration. The caller destroys it on shutdown. */
  static fromConfig(config: S3Config): ObjectStore {
    return new ObjectStore(new S3Client(s3ClientConfig(config)), config.bucket);
  }

  /** Creates the bucket unless it exists already. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      // Another process may have created it between the two calls.
      const name = error instanceof S3ServiceException ? error.name : '';
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }

  async put(key: string, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  /**
   * Writes an object named by its content (a snapshot, a spec stored by its hash) unless the key is
   * there already: the store itself refuses the second write (`If-None-Match: *`), and calls of this
   * client for the same key share one request, so runs that take the same snapshot at once write it
   * once. Returns true when this call wrote it.
   */
  putOnce(
    key: string,
    body: Uint8Array | string,
    contentType = 'application/octet-stream',
  ): Promise<boolean> {
    const inFlight = this.#writingOnce.get(key);
    if (inFlight) return inFlight.then(() => false);
    const writing = (async () => {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentType: contentType,
            IfNoneMatch: '*',
          }),
        );
        return true;
      } catch (error) {
        if (isAlreadyWritten(error)) return false;
        throw error;
      }
    })();
    this.#writingOnce.set(key, writing);
    return writing.finally(() => this.#writingOnce.delete(key));
  }

  /**
   * Starts a multipart upload of `key`: parts go up one by one, and the object appears whole, at
   * once, when the upload completes; an upload aborted (or never completed) leaves no object.
   */
  async startUpload(key: string, contentType = 'application/octet-stream'): Promise<MultipartUpload> {
    const started = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
    );
    if (!started.UploadId) throw new Error(`S3 gave no upload id for ${this.bucket}/${key}`);
    return new MultipartUpload(this.client, this.bucket, key, started.UploadId);
  }

  /** Whether an object is at `key`. */
  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Copies an object inside the bucket to a key named by its content unless that key is there
   * already (`If-None-Match: *`, after a look first for stores that ignore the condition). Returns
   * true when this call wrote it.
   */
  async copyOnce(source: string, target: string): Promise<boolean> {
    if (await this.exists(target)) return false;
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: `${this.bucket}/${source.split('/').map(encodeURIComponent).join('/')}`,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (error) {
      if (isAlreadyWritten(error)) return false;
      throw error;
    }
  }

  /** Reads a whole object; throws `ObjectNotFoundError` when the key does not exist. */
  async get(key: string): Promise<Uint8Array> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!response.Body) throw new Error(`S3 returned no body for ${this.bucket}/${key}`);
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(this.bucket, key);
      throw error;
    }
  }

  /** Reads a JSON object Kerf wrote (a record, a manifest's neighbours, a profile). */
  async getJson<T>(key: string): Promise<T> {
    return JSON.parse(Buffer.from(await this.get(key)).toString('utf8')) as T;
  }

  /** Lists every object under a prefix, following continuation tokens. */
  async list(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ContinuationToken: continuationToken,
        }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key) objects.push({ key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return objects;
  }

  /** Lists the multipart uploads under a prefix never completed nor aborted, following the markers. */
  async listUploads(prefix: string): Promise<OpenUpload[]> {
    const uploads: OpenUpload[] = [];
    let markers: { KeyMarker?: string; UploadIdMarker?: string } | undefined = {};
    while (markers) {
      const page: ListMultipartUploadsCommandOutput = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, ...markers }),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key && upload.UploadId) {
          uploads.push({ key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated });
        }
      }
      markers =
        page.IsTruncated && page.NextKeyMarker
          ? { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker }
          : undefined;
    }
    return uploads;
  }

  /** Aborts a multipart upload by its id, one a stopped process left open: its parts are dropped. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    await new MultipartUpload(this.client, this.bucket, key, uploadId).abort();
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** S3's smallest part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** One multipart upload in progress: parts in order, then `complete` or `abort`. */
export class MultipartUpload {
  readonly #parts: { ETag: string; PartNumber: number }[] = [];

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    readonly key: string,
    readonly uploadId: string,
  ) {}

  /** Uploads the next part (at least `MIN_PART_BYTES`, but the last). */
  async uploadPart(body: Uint8Array): Promise<void> {
    const PartNumber = this.#parts.length + 1;
    // Numbered before the request, so parts sent one after the other keep their order.
    const slot = { ETag: '', PartNumber };
    this.#parts.push(slot);
    const sent = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber,
        Body: body,
        ContentLength: body.byteLength,
      }),
    );
    if (!sent.ETag) throw new Error(`S3 gave no ETag for part ${PartNumber} of ${this.bucket}/${this.key}`);
    slot.ETag = sent.ETag;
  }

  /** Makes the object of the parts uploaded. */
  async complete(): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.#parts },
      }),
    );
  }

  /** Drops the parts uploaded; no object is made. */
  async abort(): Promise<void> {
    await this.client.send(
      new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }),
    );
  }
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`No object ${key} in bucket ${bucket}`);
    this.name = 'ObjectNotFoundError';
  }
}

/**
 * A conditional write refused because the key exists (412), or because another write of it is in
 * progress (409, AWS S3's ConditionalRequestConflict): either way the content-named object is there.
 */
function isAlreadyWritten(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  const status = error.$metadata.httpStatusCode;
  return error.name === 'PreconditionFailed' || status === 412 || status === 409;
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return (
    error.name === 'NotFound' ||
    error.name === 'NoSuchKey' ||
    error.name === 'NoSuchBucket' ||
    error.$metadata.httpStatusCode === 404
  );
}
