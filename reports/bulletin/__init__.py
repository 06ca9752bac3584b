"""An edition of the bulletin: figures from the pinned snapshot (read only), narrative, charts,
rendering to HTML/PDF/Markdown/JSON/CSV (templates in `templates/`), publication, site index, feed."""
