"""The users' public websites (issue 13 §2), rendered by the gateway.

``/s/{slug}/`` is a member's product site (distribution office), ``/s/{slug}/opportunite``
their brochure site (construction office). Accounts holds the pages (the network's
templates, the member's overrides and coordinates); leads stores what the capture form
collects. The gateway holds nothing but a short-lived copy of what accounts answers
(``cache``: an edit through this gateway shows at once, anything else within
``SITE_CACHE_SECONDS``, 2 s) and renders every page
server-side with Jinja2 (``render``), autoescaped, with no script at all and a strict
``Content-Security-Policy``. The form's spam checks that need no database (honeypot,
signed minimum fill time) are ``forms``; the routes are ``routes``.
"""
