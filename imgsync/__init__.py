"""imgsync: upload the local images of Markdown files to an image host, rewrite the references."""

__version__ = "0.3.0"
