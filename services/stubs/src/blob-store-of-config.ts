import { S3Client } from '@aws-sdk/client-s3';
import { DiskBlobStore, type BlobStore } from './blob-store.js';
import type { StubsConfig } from './config.js';
import { S3BlobStore } from './s3-blob-store.js';

/** The blob store STUBS_CODE_STORE names, not yet initialised. */
export function blobStoreOf(config: StubsConfig): BlobStore {
  if (config.STUBS_CODE_STORE === 'disk') return new DiskBlobStore(config.STUBS_DATA_DIR);
  const client = new S3Client({
    region: config.STUBS_S3_REGION,
    endpoint: config.STUBS_S3_ENDPOINT || undefined,
    forcePathStyle: config.STUBS_S3_FORCE_PATH_STYLE,
    // Checksums only where S3 asks for them: several S3-compatible stores
    // refuse the checksum trailers the SDK would add to every upload.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return new S3BlobStore({ client, bucket: config.STUBS_S3_BUCKET, prefix: config.STUBS_S3_PREFIX, dataDir: config.STUBS_DATA_DIR });
}
