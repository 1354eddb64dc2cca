"""Markdown internals: the parser and its source map, destinations, raw HTML, files, cores."""
