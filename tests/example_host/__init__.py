"""Snapbin: the example host of docs/adding-a-host.md, with its fake; tested, never registered."""
