"""Getting requests to a host with patience: the worker pool, retrying, the per-host rate gate."""
