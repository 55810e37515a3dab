// A batch's store from its location: a bucket's for an `s3://` URL, else the local folder's. The bucket's code, and
// with it the AWS SDK (a quarter of a second of CPU to load), is loaded by the first request to a bucket, so a local
// batch's commands and workers never load it.
import { type BatchStore, isBucketLocation } from './batch-store';
import { FolderStore } from './folder-store';
import { parseBatchLocation } from './s3-location';

export function openStore(location: string, env: NodeJS.ProcessEnv = process.env): BatchStore {
  if (!isBucketLocation(location)) return new FolderStore(location);
  // Parsed now, so a bad location throws here as it would from the bucket's store itself.
  const batch = parseBatchLocation(location);
  let opened: Promise<BatchStore> | undefined;
  const store = () => (opened ??= import('./bucket-store.js').then((m) => m.openBucketStore(location, env)));
  return {
    location: batch.location,
    kind: 'bucket',
    where: (name) => `${batch.location}/${name}`,
    read: async (name) => (await store()).read(name),
    write: async (files) => (await store()).write(files),
    appendLines: async (name, lines, part) => (await store()).appendLines(name, lines, part),
    readLines: async (name) => (await store()).readLines(name),
    list: async (folder) => (await store()).list(folder),
    present: async (names) => (await store()).present(names),
    remove: async (prefix) => (await store()).remove(prefix),
  };
}
