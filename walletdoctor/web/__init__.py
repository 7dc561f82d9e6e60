"""What a person sees: the live page at ``/`` and its static files."""

from walletdoctor.web.page import add_page_routes

__all__ = ["add_page_routes"]
