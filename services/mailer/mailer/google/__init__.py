"""Gmail linking and sending (terms, Google annex): the user links a Google account with
the authorization-code flow and PKCE; mail to leads then goes out through the Gmail API as
that user, paced to Gmail's per-user quota.

For the rest of the mailer, in a ``MailerService`` worker:

* ``self.gmail.can_send(user_id)``: a live token is held by this process;
* ``self.gmail.send(user_id, message)`` with an ``email.message.EmailMessage``: ``True``
  once Gmail took it, ``False`` when Gmail stayed unavailable (keep it queued), raises
  ``errors.NoLiveToken`` when there is no usable token (send through SMTP with
  ``Reply-To`` instead) and ``errors.MessageRefused`` for a message Gmail will never take.
  It blocks while the user's pacing slot comes (``pacing``).

Modules: ``oauth`` (the flow's rules), ``tokens`` (where a live token lives, and what
restarts and several instances do), ``gmail`` (sending), ``pacing``, ``links`` and
``tables`` (what persists: the address and the link time), ``entrypoints`` (the RPCs).
"""
