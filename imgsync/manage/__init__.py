"""The life of an image on the host: `imgsync list`, `prune`, `delete` and `albums`."""
