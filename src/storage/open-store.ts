// A batch's store from its location: a bucket's for an `s3://` URL, else the local folder's.
import { type BatchStore, isBucketLocation } from './batch-store';
import { openBucketStore } from './bucket-store';
import { FolderStore } from './folder-store';

export function openStore(location: string, env: NodeJS.ProcessEnv = process.env): BatchStore {
  return isBucketLocation(location) ? openBucketStore(location, env) : new FolderStore(location);
}
