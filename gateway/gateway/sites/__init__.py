"""The users' public websites (issue 13 §2), rendered by the gateway.

``/s/{slug}/`` is a member's product site (distribution office), ``/s/{slug}/opportunite``
their brochure site (construction office). Accounts holds the pages (the network's
templates, the member's overrides and coordinates); leads stores what the capture form
collects. The gateway holds nothing: it asks accounts for the page on every request (so
an admin's change, or a subscription ending or renewed, shows at once) and renders it
server-side with Jinja2 (``render``), autoescaped, with no script at all and a strict
``Content-Security-Policy``. The form's spam checks that need no database (honeypot,
signed minimum fill time) are ``forms``; the routes are ``routes``.
"""
