"""One function per compliance command or query; entrypoints in ``service.py`` call them."""
