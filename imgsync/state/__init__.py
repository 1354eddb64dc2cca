"""imgsync's files on disk: the cache file's format, per-file stamps, locks and upload claims."""
