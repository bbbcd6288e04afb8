"""The web app (FastAPI): the CMS webhook, the pages behind the links in emails, health."""

from worker.web._app import create_app

__all__ = ["create_app"]
