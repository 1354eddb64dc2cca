"""The MkDocs plugin (`plugins: [imgsync]`): the built site points at hosted images, the
sources keep their local paths.

When the files are known (`on_files`), one publish-only sync (publish.py) runs over the
docs folder: every new image is uploaded through the project's cache, as `imgsync` would,
and each page's rewritten text is written into a temporary folder, never over the page.
Each page's Markdown is then swapped for its rewritten text (`on_page_markdown`, run before
other plugins'), its front matter included. A failure (an image missing, a host refusing)
fails the build, naming each page and line. `mkdocs serve` uploads nothing unless
`upload_on_serve: true`: the dev server shows the local images.

Options (mkdocs.yml):

    plugins:
      - imgsync:
          config_file: imgsync.toml   # default: found upward from mkdocs.yml, as imgsync does
          host: blog                  # the [hosts.NAME] profile; default: the config's
          upload_on_serve: false
          enabled: true
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.utils.meta import get_data

from .errors import ImgsyncError

log = get_plugin_logger(__name__)


class ImgsyncPluginConfig(Config):  # type: ignore[no-untyped-call]
    config_file = config_options.Optional(config_options.Type(str))
    host = config_options.Optional(config_options.Type(str))
    upload_on_serve = config_options.Type(bool, default=False)
    enabled = config_options.Type(bool, default=True)


class ImgsyncPlugin(BasePlugin[ImgsyncPluginConfig]):  # type: ignore[no-untyped-call]
    """Hosted image URLs in the built pages; see the module's docstring."""

    def __init__(self) -> None:
        self.serving = False
        self.rewritten: dict[Path, str] = {}  # page source (absolute) -> its rewritten text
        self.folder: Path | None = None  # the temporary folder the rewritten copies are in

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.serving = command == "serve"

    @event_priority(100)
    def on_files(self, files: Any, *, config: Any) -> Any:
        self.rewritten = {}
        if not self.config.enabled or (self.serving and not self.config.upload_on_serve):
            return files
        docs = Path(config["docs_dir"])
        config_dir = Path(os.path.dirname(config["config_file_path"] or docs))
        self._cleanup()
        self.folder = Path(tempfile.mkdtemp(prefix="imgsync-mkdocs-"))
        try:
            self.rewritten = _publish(docs, self.folder, config_dir, self.config)
        except ImgsyncError as error:
            raise PluginError(f"imgsync: {error}") from None
        return files

    @event_priority(100)
    def on_page_markdown(self, markdown: str, *, page: Any, config: Any, files: Any) -> str:
        source = page.file.abs_src_path
        text = self.rewritten.get(Path(source)) if source else None
        if text is None:
            return markdown
        body, meta = get_data(text)
        original_body, _ = get_data(Path(source).read_text(encoding="utf-8-sig"))
        if markdown != original_body:  # another plugin gave this page its source
            log.warning(
                f"{page.file.src_uri}: its Markdown was changed before imgsync saw it (by a"
                " plugin's on_page_read_source); its images are left local"
            )
            return markdown
        page.meta = meta
        return body

    def on_post_build(self, *, config: Any) -> None:
        self._cleanup()

    def on_build_error(self, *, error: Exception) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _publish(
    docs: Path, folder: Path, config_dir: Path, options: ImgsyncPluginConfig
) -> dict[Path, str]:
    """Upload the docs' new images and rewrite their pages into `folder`: by page, its text.
    PluginError, naming each page and line, when an image could not be hosted."""
    from .config import load_settings
    from .pipeline import sync
    from .publish import Output
    from .render import report_output

    config_file = Path(options.config_file) if options.config_file else None
    settings = load_settings(cwd=config_dir, config_file=config_file, env=dict(os.environ))
    output = Output(Path(os.path.abspath(docs)), folder, markdown_only=True)
    report = sync([docs], settings, host_name=options.host, output=output)
    report.output = None  # the temporary folder is no concern of the reader's
    shown = report_output(report, command="sync", as_json=False, verbose=False, quiet=False)
    if report.failures or report.interrupted:
        lines = [line for line in shown.stderr if line.strip()]
        raise PluginError("imgsync could not host every image:\n" + "\n".join(lines))
    for line in shown.stderr:
        log.info(line)
    return {
        output.source / copy.relative_to(output.folder): copy.read_text(encoding="utf-8-sig")
        for copy in report.files_changed
    }
